import type { Config } from '../config/schema.js';
import type { Db } from '../store/database.js';
import type { ReportInbox } from '../store/report-inbox.js';
import type { Outbox } from '../store/outbox.js';
import type { PacsBridge } from '../dimse/types.js';
import type { StoreScp } from '../dimse/index.js';
import type { MllpServer, MllpStats } from '../hl7/mllp-server.js';
import type { DiskGuard } from './disk-guard.js';
import type { HealthCheck } from './health.js';

/** A report not even looked at after this long means the processor is stuck or starved. */
const MAX_UNPROCESSED_AGE_MS = 5 * 60_000;

/** The MLLP listener in words; throws (unhealthy) when its connections are nearly all taken: the RIS may be locked out. */
export function mllpHealth(port: number, stats: MllpStats): string {
  const detail = `MLLP listening on ${port}, ${stats.connectionsOpen} of ${stats.maxConnections} connection(s), ${stats.connectionsRefused} refused since start`;
  if (stats.connectionsOpen >= Math.ceil(stats.maxConnections * 0.9)) throw new Error(`${detail}: saturated, the RIS may not get a connection`);
  return detail;
}

/** The report backlog in words; throws (unhealthy) when a report is held for a person or left unprocessed too long. */
export function inboxHealth(backlog: ReturnType<ReportInbox['backlog']>, nowMs: number): string {
  const ageMs = backlog.oldestReceivedAt ? nowMs - Date.parse(backlog.oldestReceivedAt) : 0;
  const detail = `${backlog.received} to process${backlog.oldestReceivedAt ? ` (oldest ${Math.round(ageMs / 1000)} s)` : ''}, ${backlog.waiting} waiting for their images, ${backlog.held} held`;
  if (backlog.held > 0) throw new Error(`${detail}: ${backlog.held} report(s) held because the PACS study's patient is not the report's — see "drimbox queue inbox --state held"`);
  if (ageMs > MAX_UNPROCESSED_AGE_MS) throw new Error(`${detail}: reports wait unprocessed for more than ${MAX_UNPROCESSED_AGE_MS / 60_000} min`);
  return detail;
}

export interface BoxHealthDeps {
  config: Config;
  db: Db;
  inbox: ReportInbox;
  outbox: Outbox;
  bridge: PacsBridge;
  scp: StoreScp;
  mllp: MllpServer;
  disk: DiskGuard;
}

/** The box's health checks: each is real work (open the database, C-ECHO the PACS...), never a constant. */
export function boxHealthChecks(d: BoxHealthDeps): HealthCheck[] {
  return [
    { name: 'database', run: async () => `schema v${d.db.pragma('user_version', { simple: true })}` },
    {
      name: 'pacs',
      run: async () => {
        await d.bridge.echo();
        return `C-ECHO ${d.config.pacs.aeTitle}@${d.config.pacs.host}:${d.config.pacs.port} OK`;
      },
    },
    { name: 'dicom-scp', run: async () => `${d.scp.aeTitle} listening on ${d.scp.port}` },
    { name: 'report-inbox', run: async () => inboxHealth(d.inbox.backlog(), Date.now()) },
    {
      // A dead DMP operation is a publication the DMP refused for good: a person must look (drimbox queue list).
      name: 'dmp-outbox',
      run: async () => {
        const c = d.outbox.counts();
        const detail = `${c.pending + c['waiting-retry'] + c.sending} to send, ${c.done} done, ${c.dead} dead`;
        if (c.dead > 0) throw new Error(`${detail}: ${c.dead} DMP operation(s) refused for good — see "drimbox queue list --state dead"`);
        return detail;
      },
    },
    {
      name: 'disk',
      run: async () => {
        const refusal = await d.disk.refusal();
        if (refusal) throw new Error(refusal);
        const s = await d.disk.check();
        return `${Math.floor(s.freeBytes / 1_048_576)} MB free of ${Math.floor(s.totalBytes / 1_048_576)} MB`;
      },
    },
    { name: 'hl7', run: async () => mllpHealth(d.mllp.port, d.mllp.stats()) },
  ];
}
