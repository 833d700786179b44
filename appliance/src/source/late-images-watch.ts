import type { KosArchive } from '../store/kos-archive.js';
import type { ReportInbox } from '../store/report-inbox.js';
import type { PacsBridge } from '../dimse/types.js';
import { lookupExam } from './exam-lookup.js';
import { log as rootLog, type Logger } from '../log/logger.js';

/**
 * Images added to an exam after its manifest was published (a late series, a reconstruction) must reach
 * the DMP too: recently published exams are counted again in the PACS, and a changed count queues a
 * rebuild through the inbox, like any other change.
 */
export async function checkLateImages(deps: {
  archive: KosArchive;
  inbox: ReportInbox;
  bridge: PacsBridge;
  watchForMs: number;
  now?: () => Date;
  log?: Logger;
}): Promise<string[]> {
  const now = deps.now?.() ?? new Date();
  const log = deps.log ?? rootLog.child({ component: 'source' });
  const changed: string[] = [];
  for (const kos of deps.archive.activeSince(new Date(now.getTime() - deps.watchForMs))) {
    if (deps.inbox.hasOpenForStudy(kos.studyInstanceUid)) continue; // something already on its way for this exam
    try {
      const exam = await lookupExam(deps.bridge, kos.studyInstanceUid);
      const have = new Set(deps.archive.refs(kos.id).map((r) => r.sopInstanceUid));
      const added = exam?.series.flatMap((s) => s.instances).filter((i) => !have.has(i.sopInstanceUid)) ?? [];
      if (added.length === 0) continue;
      deps.inbox.record({
        channel: 'pacs',
        raw: Buffer.from(JSON.stringify({ studyInstanceUid: kos.studyInstanceUid, added: added.length })),
        messageType: 'late-images',
        studyInstanceUid: kos.studyInstanceUid,
      });
      changed.push(kos.studyInstanceUid);
      log.info('late images found in a published exam', { study: kos.studyInstanceUid, added: added.length });
    } catch (err) {
      log.warn('late-image check failed', { study: kos.studyInstanceUid, error: err });
    }
  }
  return changed;
}
