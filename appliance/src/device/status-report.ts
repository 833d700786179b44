import type { HealthReport } from './health.js';
import type { HostSample } from './host-health.js';
import type { DeviceStatus } from './appliance.js';
import type { Outbox, OutboxState } from '../store/outbox.js';
import type { ReportInbox } from '../store/report-inbox.js';
import type { KosArchive } from '../store/kos-archive.js';
import type { DiskState } from './disk-guard.js';

export type TileLevel = 'ok' | 'warn' | 'error' | 'unknown';
type Fact = string | number | boolean | null;

/** One tile of the status screen: its level, why (a code the screen says in French), and the facts behind it. */
export interface Tile {
  id: 'pacs' | 'ris' | 'dmp' | 'certificates' | 'disk' | 'host' | 'software';
  level: TileLevel;
  code: string;
  facts: Record<string, Fact>;
}

export interface StatusReport {
  at: string;
  tiles: Tile[];
  deadLetters: { id: number; op: string; examKey: string; reason: string; since: string }[];
  publications: Publication[];
}

/** Where a manifest's DMP operation is: sent, still queued, refused for good, or never meant for the DMP (DESTDMP=N). */
export type Delivery = 'delivered' | 'queued' | 'refused' | 'local';

export interface Publication {
  at: string;
  studyInstanceUid: string;
  accession: string | null;
  /** As stored (the INS the report carried). */
  patientIns: string | null;
  /** The manifest in the local archive: active, replaced, withdrawn. */
  status: string;
  delivery: Delivery;
  instances: number;
}

export interface StatusDeps {
  /** The box's health checks (already cached by the caller: one C-ECHO per few seconds, whatever the screens). */
  health: () => Promise<HealthReport>;
  outbox: Pick<Outbox, 'counts' | 'list' | 'lastDeliveredAt' | 'publicationStates'>;
  inbox: Pick<ReportInbox, 'list'>;
  archive: Pick<KosArchive, 'list'>;
  dmpConfigured: boolean;
  certificates: () => { id: 'dmp' | 'tls'; notAfter: Date }[];
  disk: () => Promise<DiskState>;
  minFreeBytes: number;
  cacheBytes: () => number | undefined;
  host: () => HostSample | undefined;
  device: () => DeviceStatus;
  version: string;
  now?: () => number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** What the status screen shows, as plain data: levels and codes, never French, never HTML. */
export function createStatusReporter(d: StatusDeps): { report(): Promise<StatusReport> } {
  const now = d.now ?? Date.now;
  return {
    async report() {
      const t = now();
      const [health, disk] = await Promise.all([d.health(), d.disk().catch(() => undefined)]);
      const check = (name: string) => health.checks.find((c) => c.name === name);
      const tiles: Tile[] = [pacsTile(check('pacs')), risTile(d, check('hl7')), dmpTile(d, t), certificatesTile(d, t), diskTile(d, disk), hostTile(d.host()), softwareTile(d)];
      const deadLetters = d.outbox.list({ state: 'dead', limit: 50 }).map((r) => ({ id: r.id, op: r.op, examKey: r.examKey, reason: r.lastError ?? '', since: r.updatedAt }));
      const manifests = d.archive.list(10);
      const states = d.outbox.publicationStates(manifests.map((k) => k.sopInstanceUid));
      const publications = manifests.map(
        (k): Publication => ({ at: k.createdAt, studyInstanceUid: k.studyInstanceUid, accession: k.accession, patientIns: k.patientIns, status: k.status, delivery: deliveryOf(states.get(k.sopInstanceUid)), instances: k.instanceCount }),
      );
      return { at: new Date(t).toISOString(), tiles, deadLetters, publications };
    },
  };
}

function deliveryOf(state: OutboxState | undefined): Delivery {
  if (!state) return 'local';
  return state === 'done' ? 'delivered' : state === 'dead' ? 'refused' : 'queued';
}

function pacsTile(c: HealthReport['checks'][number] | undefined): Tile {
  if (!c) return { id: 'pacs', level: 'unknown', code: 'pacs-unknown', facts: {} };
  return c.ok ? { id: 'pacs', level: 'ok', code: 'pacs-ok', facts: { ms: c.ms } } : { id: 'pacs', level: 'error', code: 'pacs-echo-failed', facts: { detail: c.detail } };
}

function risTile(d: StatusDeps, listener: HealthReport['checks'][number] | undefined): Tile {
  const last = d.inbox.list({ limit: 1 })[0];
  const facts: Record<string, Fact> = last ? { lastAt: last.receivedAt, sender: last.sender, messageType: last.messageType, state: last.state } : {};
  if (listener && !listener.ok) return { id: 'ris', level: 'error', code: 'ris-listener', facts: { ...facts, detail: listener.detail } };
  if (!last) return { id: 'ris', level: 'unknown', code: 'ris-no-message', facts };
  return { id: 'ris', level: last.state === 'rejected' ? 'warn' : 'ok', code: last.state === 'rejected' ? 'ris-last-rejected' : 'ris-ok', facts };
}

function dmpTile(d: StatusDeps, t: number): Tile {
  const c = d.outbox.counts();
  const oldest = [...d.outbox.list({ state: 'pending', limit: 1 }), ...d.outbox.list({ state: 'waiting-retry', limit: 1 })].map((r) => r.createdAt).sort()[0];
  const facts: Record<string, Fact> = { queued: c.pending + c['waiting-retry'] + c.sending, dead: c.dead, done: c.done, oldestPendingAt: oldest ?? null, lastDeliveredAt: d.outbox.lastDeliveredAt() ?? null };
  if (!d.dmpConfigured) return { id: 'dmp', level: 'warn', code: 'dmp-not-configured', facts };
  if (c.dead > 0) return { id: 'dmp', level: 'error', code: 'dmp-dead-letters', facts };
  if (oldest && t - Date.parse(oldest) > HOUR) return { id: 'dmp', level: 'warn', code: 'dmp-queue-late', facts };
  // The last attempt failed and will be retried (DMP unreachable, or answering errors): say so at once, with why.
  const retrying = d.outbox.list({ state: 'waiting-retry', limit: 1 })[0];
  if (retrying) return { id: 'dmp', level: 'warn', code: 'dmp-retrying', facts: { ...facts, detail: retrying.lastError ?? null } };
  return { id: 'dmp', level: 'ok', code: 'dmp-ok', facts };
}

function certificatesTile(d: StatusDeps, t: number): Tile {
  const certs = d.certificates();
  const facts: Record<string, Fact> = Object.fromEntries(certs.map((c) => [`${c.id}DaysLeft`, Math.floor((c.notAfter.getTime() - t) / DAY)]));
  if (certs.length === 0) return { id: 'certificates', level: 'unknown', code: 'cert-none', facts };
  const least = Math.min(...certs.map((c) => c.notAfter.getTime() - t));
  if (least < 0) return { id: 'certificates', level: 'error', code: 'cert-expired', facts };
  if (least < 30 * DAY) return { id: 'certificates', level: 'warn', code: 'cert-expires-soon', facts };
  return { id: 'certificates', level: 'ok', code: 'cert-ok', facts };
}

function diskTile(d: StatusDeps, disk: DiskState | undefined): Tile {
  if (!disk) return { id: 'disk', level: 'unknown', code: 'disk-unknown', facts: {} };
  const facts: Record<string, Fact> = { freeBytes: disk.freeBytes, totalBytes: disk.totalBytes, cacheBytes: d.cacheBytes() ?? null };
  if (disk.freeBytes < d.minFreeBytes) return { id: 'disk', level: 'error', code: 'disk-full', facts };
  if (disk.freeBytes < 2 * d.minFreeBytes) return { id: 'disk', level: 'warn', code: 'disk-low', facts };
  return { id: 'disk', level: 'ok', code: 'disk-ok', facts };
}

function hostTile(h: HostSample | undefined): Tile {
  if (!h) return { id: 'host', level: 'unknown', code: 'host-unknown', facts: {} };
  const facts: Record<string, Fact> = {
    temperatureC: h.cpuTemperatureC,
    loadPercent: h.cpuLoadPercent,
    memoryAvailableBytes: h.memoryAvailableBytes,
    memoryTotalBytes: h.memoryTotalBytes,
    uptimeSeconds: h.uptimeSeconds,
    throttledNow: h.throttling ? h.throttling.throttledNow || h.throttling.frequencyCappedNow : null,
    underVoltageNow: h.throttling?.underVoltageNow ?? null,
  };
  if (h.throttling?.underVoltageNow) return { id: 'host', level: 'error', code: 'host-under-voltage', facts };
  if ((h.cpuTemperatureC ?? 0) >= 80 || h.throttling?.throttledNow) return { id: 'host', level: 'error', code: 'host-too-hot', facts };
  if ((h.cpuTemperatureC ?? 0) >= 70 || h.throttling?.frequencyCappedNow) return { id: 'host', level: 'warn', code: 'host-warm', facts };
  if (h.memoryAvailableBytes < h.memoryTotalBytes * 0.1) return { id: 'host', level: 'warn', code: 'host-memory-low', facts };
  return { id: 'host', level: 'ok', code: 'host-ok', facts };
}

function softwareTile(d: StatusDeps): Tile {
  const s = d.device();
  const facts: Record<string, Fact> = { version: d.version, updateState: s.updateState ?? null, lockState: s.updateLock?.state ?? null };
  return { id: 'software', level: s.updateState ? 'warn' : 'ok', code: s.updateState ? 'software-update-waiting' : 'software-ok', facts };
}
