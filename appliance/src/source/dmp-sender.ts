import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Signer } from '../auth/signer/signer.js';
import type { KosArchive, KosRecord } from '../store/kos-archive.js';
import type { OutboxRow, OutboxSender, SendOutcome } from '../store/outbox.js';
import type { ReportEvent } from '../report/types.js';
import { parseKos } from '../dicom/kos/index.js';
import { buildProvideAndRegister, vihfSubjectFromReport, type DmpClient, type Outcome, type XdsSubmissionContext } from '../xds/index.js';
import { authorOf, MetadataError } from '../xds/index.js';

export interface DmpSenderDeps {
  client: Pick<DmpClient, 'provideAndRegister' | 'updateAvailability' | 'entryUuidOf'>;
  archive: KosArchive;
  dataDir: string;
  context: XdsSubmissionContext;
  signer: Signer;
}

// Patient identifier in the DMP: the INS in CX form with the NH type (ci-sis-imaging.md §2.1).
const insCx = (report: ReportEvent) => `${report.patient.ins?.value}^^^&${report.patient.ins?.issuerOid}&ISO^NH`;

/**
 * Delivers outbox operations to the DMP. The KOS uniqueId was fixed when queued: a publish the DMP already
 * holds (an attempt that went through before a crash) is recognised and counted as done, never sent twice.
 */
export function createDmpSender(deps: DmpSenderDeps): OutboxSender {
  const { client, archive } = deps;

  const kosOf = (row: OutboxRow): KosRecord => {
    const kos = row.kosId !== null ? archive.get(row.kosId) : undefined;
    if (!kos) throw new Error(`outbox #${row.id}: its manifest (archive #${row.kosId}) is missing`);
    return kos;
  };

  async function publish(row: OutboxRow, kos: KosRecord, report: ReportEvent, replacesEntryUUID?: string): Promise<SendOutcome> {
    const bytes = await readFile(join(deps.dataDir, kos.file));
    parseKos(bytes); // refuse to send a file that is no longer a readable KOS
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
    const outcome = await client.provideAndRegister(built, vihfSubjectFromReport(report, deps.context));
    if (outcome.kind === 'permanent' && outcome.code === 'XDSDuplicateUniqueIdInRegistry') {
      const known = await client.entryUuidOf(row.uniqueId, vihfSubjectFromReport(report, deps.context));
      if (known.kind === 'success' && known.value) return { kind: 'already-done', detail: `entry ${known.value}` };
    }
    return toSendOutcome(outcome);
  }

  return {
    async send(row) {
      const kos = kosOf(row);
      const report = kos.report as ReportEvent;
      const vihf = () => vihfSubjectFromReport(report, deps.context);
      try {
        switch (row.op) {
          case 'publish':
            return await publish(row, kos, report);
          case 'replace': {
            const previous = await client.entryUuidOf(row.targetUniqueId!, vihf());
            if (previous.kind !== 'success') return toSendOutcome(previous);
            // The replaced manifest never reached the DMP (abandoned): this one is published on its own.
            return await publish(row, kos, report, previous.value);
          }
          case 'withdraw': {
            const entry = await client.entryUuidOf(row.targetUniqueId!, vihf());
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
                vihf(),
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
