import { PacsError, type StoreOutcome } from './types.js';
import { MAX_CONTEXTS, type ProposedContext, type ScuAssociation } from './association.js';
import { lease, UNCOMPRESSED, type BridgeContext } from './context.js';
import { storeRequest, type RawDataset, type Response } from './message.js';
import { transcodeFile } from './transcode.js';
import { NotPart10Error, readPart10Header, type Part10Header } from './part10.js';
import { statusHex, statusText } from './errors.js';

/** Files whose headers are read ahead and sent on one association. */
const BATCH = 200;

interface Pending extends Part10Header {
  path: string;
}

/**
 * C-STORE of Part-10 files. Each file is proposed in its own transfer syntax first, then uncompressed; sent
 * as the file's own bytes when its syntax is accepted, converted only when the PACS takes nothing but
 * uncompressed. Every file gets an outcome: a refusal or an unreadable file never stops the others.
 */
export async function store(
  ctx: BridgeContext,
  files: AsyncIterable<string> | Iterable<string>,
  onOutcome?: (outcome: StoreOutcome) => void,
): Promise<StoreOutcome[]> {
  const outcomes: StoreOutcome[] = [];
  const report = (outcome: StoreOutcome) => {
    outcomes.push(outcome);
    onOutcome?.(outcome);
  };
  let batch: Pending[] = [];
  let batchContexts = new Set<string>();
  let associations = 0;
  let fatal: PacsError | undefined;

  const flush = async () => {
    const pending = batch;
    batch = [];
    batchContexts = new Set();
    let attempts = 0;
    while (pending.length && !fatal) {
      let leased: Awaited<ReturnType<typeof lease>>;
      try {
        leased = await lease(ctx, contextsFor(pending));
      } catch (err) {
        if (associations === 0 || !(err instanceof PacsError)) throw err;
        fatal = err;
        break;
      }
      associations++;
      attempts++;
      try {
        while (pending.length) {
          const file = pending[0]!;
          const outcome = await sendOne(leased.association, file);
          pending.shift();
          attempts = 0;
          report(outcome);
        }
      } catch (err) {
        if (!(err instanceof PacsError)) throw err;
        const file = pending.shift()!;
        report({ path: file.path, sopInstanceUid: file.sopInstanceUid, status: 'refused', reason: err.message });
        // A fresh association for the rest; two in a row failing before storing anything end the run.
        if (attempts > 1) fatal = err;
      } finally {
        await leased.done();
      }
    }
    for (const file of pending) report({ path: file.path, sopInstanceUid: file.sopInstanceUid, status: 'skipped', reason: `not sent: ${fatal?.message}` });
  };

  for await (const path of files) {
    if (fatal) {
      report({ path, status: 'skipped', reason: `not sent: ${fatal.message}` });
      continue;
    }
    let header: Part10Header;
    try {
      header = await readPart10Header(path);
    } catch (err) {
      const reason = err instanceof NotPart10Error ? err.message : `cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
      report({ path, status: 'skipped', reason });
      continue;
    }
    // A file whose contexts would not fit starts the next association.
    const keys = contextKeys(header).filter((k) => !batchContexts.has(k));
    if (batchContexts.size + keys.length > MAX_CONTEXTS) await flush();
    batch.push({ ...header, path });
    for (const k of contextKeys(header)) batchContexts.add(k);
    if (batch.length >= BATCH) await flush();
  }
  await flush();
  return outcomes;
}

function contextKeys(file: Part10Header): string[] {
  return [`${file.sopClassUid} ${file.transferSyntaxUid}`, file.sopClassUid];
}

/** Per (SOP class, transfer syntax) a context with that syntax alone, per SOP class one uncompressed fallback. */
function contextsFor(files: Pending[]): ProposedContext[] {
  const exact = new Map<string, ProposedContext>();
  const fallback = new Map<string, ProposedContext>();
  for (const f of files) {
    exact.set(`${f.sopClassUid} ${f.transferSyntaxUid}`, { abstractSyntaxUid: f.sopClassUid, transferSyntaxUids: [f.transferSyntaxUid] });
    fallback.set(f.sopClassUid, { abstractSyntaxUid: f.sopClassUid, transferSyntaxUids: UNCOMPRESSED });
  }
  return [...exact.values(), ...fallback.values()];
}

async function sendOne(association: ScuAssociation, file: Pending): Promise<StoreOutcome> {
  const base = { path: file.path, sopInstanceUid: file.sopInstanceUid };
  const exact = association.acceptedContext(file.sopClassUid, file.transferSyntaxUid);
  let response: Response;
  let transferSyntaxUid: string;
  if (exact) {
    transferSyntaxUid = file.transferSyntaxUid;
    response = await association.storeRaw(storeRequest(file), exact, file);
  } else {
    const context = UNCOMPRESSED.map((ts) => association.acceptedContext(file.sopClassUid, ts)).find((c) => c !== undefined);
    if (!context) {
      return { ...base, status: 'refused', reason: `the PACS does not accept SOP class ${file.sopClassUid} (presentation context rejected)` };
    }
    transferSyntaxUid = context.transferSyntaxUid!;
    let dataset: RawDataset;
    try {
      dataset = await transcodeFile(file.path, transferSyntaxUid);
    } catch (err) {
      return { ...base, status: 'refused', reason: `the PACS takes only ${transferSyntaxUid} and the file cannot be converted: ${(err as Error).message}` };
    }
    response = await association.perform(storeRequest(file, dataset), context, `C-STORE of ${file.path}`);
  }
  const status = response.getStatus();
  const comment = response.getErrorComment();
  if (status === 0x0000) return { ...base, status: 'stored', transferSyntaxUid, dimseStatus: status };
  const words = `${statusHex(status)} ${statusText(status)}${comment ? `: ${comment}` : ''}`;
  // Warnings (PS3.4 B.2.3): 0xB000 coercion of data elements, 0xB006 elements discarded, 0xB007 dataset does not match the SOP class.
  if (status === 0xb000 || status === 0xb006 || status === 0xb007) return { ...base, status: 'warning', transferSyntaxUid, dimseStatus: status, reason: words };
  return { ...base, status: 'refused', transferSyntaxUid, dimseStatus: status, reason: `the PACS refused it: ${words}` };
}
