import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Signer } from '../auth/signer/signer.js';
import type { KosArchive, KosRecord } from '../store/kos-archive.js';
import type { OutboxRow, OutboxSender, SendOutcome } from '../store/outbox.js';
import type { ReportEvent } from '../report/types.js';
import { buildProvideAndRegister, vihfSubjectFromReport, type DmpClient, type Outcome, type VihfSubject, type XdsSubmissionContext } from '../xds/index.js';
import { authorOf, MetadataError } from '../xds/index.js';

export interface DmpSenderDeps {
  client: Pick<DmpClient, 'provideAndRegister' | 'updateAvailability' | 'entryUuidOf'>;
  archive: KosArchive;
  dataDir: string;
  context: XdsSubmissionContext;
  signer: Signer;
  /**
   * Direct mode (pkcs11.card.directMode): the professional logged in with their CPS card at the box, whose card
   * signs the VIHF in their name; undefined when none is (the operation then waits for one). Absent: indirect mode.
   */
  direct?: () => DirectIdentity | undefined;
}

export interface DirectIdentity {
  signer: Signer;
  nameId: string;
  subjectName: string;
}

/** Why a direct-mode operation waits (outbox reason, shown on the status screen). */
export const WAITING_FOR_CARD = 'direct authentication mode: no CPS card is logged in at the box; the operation waits for a professional to log in with their card';

type Vihf = { subject: VihfSubject; signer?: Signer };

// Patient identifier in the DMP: the INS in CX form with the NH type (ci-sis-imaging.md §2.1).
const insCx = (report: ReportEvent) => `${report.patient.ins?.value}^^^&${report.patient.ins?.issuerOid}&ISO^NH`;

/**
 * Delivers outbox operations to the DMP. The KOS uniqueId was fixed when queued: a publish the DMP already
 * holds (an attempt that went through before a crash) is recognised and counted as done, never sent twice.
 */
export function createDmpSender(deps: DmpSenderDeps): OutboxSender {
  const { client, archive } = deps;

  /** The VIHF of an operation: the report's author under the structure's certificate, or the card's holder in direct mode. */
  const vihfOf = (report: ReportEvent): Vihf | undefined => {
    const subject = vihfSubjectFromReport(report, deps.context);
    if (!deps.direct) return { subject };
    const who = deps.direct();
    return who && { subject: { ...subject, nameId: who.nameId, subjectName: who.subjectName, mode: 'DIRECTE' }, signer: who.signer };
  };

  const kosOf = (row: OutboxRow): KosRecord => {
    const kos = row.kosId !== null ? archive.get(row.kosId) : undefined;
    if (!kos) throw new Error(`outbox #${row.id}: its manifest (archive #${row.kosId}) is missing`);
    return kos;
  };

  async function publish(row: OutboxRow, kos: KosRecord, report: ReportEvent, who: Vihf, replacesEntryUUID?: string): Promise<SendOutcome> {
    const bytes = await readFile(join(deps.dataDir, kos.file));
    checkArchivedBytes(kos, bytes);
    const built = await buildProvideAndRegister({
      report,
      kos: {
        bytes,
        facts: {
          sopInstanceUid: kos.sopInstanceUid,
          studyInstanceUid: kos.studyInstanceUid,
          modalities: report.modalities.map((m) => m.code).filter((c) => c !== 'KO'),
          createdAt: new Date(kos.createdAt),
        },
      },
      context: deps.context,
      signer: deps.signer,
      replacesEntryUUID,
    });
    const outcome = await client.provideAndRegister(built, who.subject, who.signer);
    if (outcome.kind === 'permanent' && outcome.code === 'XDSDuplicateUniqueIdInRegistry') {
      const known = await client.entryUuidOf(row.uniqueId, who.subject, who.signer);
      if (known.kind === 'success' && known.value) return { kind: 'already-done', detail: `entry ${known.value}` };
    }
    return toSendOutcome(outcome);
  }

  return {
    async send(row) {
      const kos = kosOf(row);
      const report = kos.report as ReportEvent;
      try {
        const who = vihfOf(report);
        if (!who) return { kind: 'retryable', reason: WAITING_FOR_CARD };
        switch (row.op) {
          case 'publish':
            return await publish(row, kos, report, who);
          case 'replace': {
            const previous = await client.entryUuidOf(row.targetUniqueId!, who.subject, who.signer);
            if (previous.kind !== 'success') return toSendOutcome(previous);
            // The replaced manifest never reached the DMP (abandoned): this one is published on its own.
            return await publish(row, kos, report, who, previous.value);
          }
          case 'withdraw': {
            const entry = await client.entryUuidOf(row.targetUniqueId!, who.subject, who.signer);
            if (entry.kind !== 'success') return toSendOutcome(entry);
            if (!entry.value) return { kind: 'already-done', detail: `no entry ${row.targetUniqueId} at the DMP: nothing to withdraw` };
            return toSendOutcome(
              await client.updateAvailability(
                {
                  entryUUID: entry.value,
                  patientId: insCx(report),
                  newStatus: 'Deprecated',
                  originalStatus: 'Approved',
                  author: authorOf(report, deps.context),
                  context: deps.context,
                },
                who.subject,
                who.signer,
              ),
            );
          }
        }
      } catch (err) {
        // Metadata the DMP could never accept (no RPPS, no INS...) will not get better by retrying.
        if (err instanceof MetadataError) return { kind: 'permanent', code: 'MetadataError', text: err.message };
        throw err;
      }
    },
  };
}

/**
 * Refuses a manifest file that is no longer the one the box built and archived: its size and SHA-1 must be those
 * recorded with it (a DOM-free check that also catches a change a DICOM parser would still read).
 */
export function checkArchivedBytes(kos: Pick<KosRecord, 'id' | 'file' | 'bytes' | 'sha1'>, bytes: Buffer): void {
  const sha1 = createHash('sha1').update(bytes).digest('hex');
  if (bytes.length !== kos.bytes || sha1 !== kos.sha1) {
    throw new Error(`manifest ${kos.file} (archive #${kos.id}) changed since it was archived: ${bytes.length} bytes, SHA-1 ${sha1}; archived ${kos.bytes} bytes, SHA-1 ${kos.sha1}`);
  }
}

function toSendOutcome(outcome: Outcome | { kind: 'retryable'; reason: string } | { kind: 'permanent'; code: string; text: string }): SendOutcome {
  switch (outcome.kind) {
    case 'success':
      return { kind: 'success' };
    case 'retryable':
      return { kind: 'retryable', reason: outcome.reason };
    case 'permanent':
      return { kind: 'permanent', code: outcome.code, text: outcome.text };
  }
}
