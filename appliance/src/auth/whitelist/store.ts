import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../../log/logger.js';
import { MAX_WHITELIST_BYTES } from './xml.js';
import { verifyWhitelist, type VerifiedWhitelist, type WhitelistTrust } from './verify.js';

export interface WhitelistStoreOptions {
  /** Where ANS publishes the signed list. */
  url: string;
  /** Last good copy, reloaded at start (e.g. <dataDir>/whitelist/ListeBlancheDRIM-M.xml). */
  cacheFile: string;
  /** Trust anchors and signer name; `now` is supplied by the store. */
  trust: Omit<WhitelistTrust, 'now'>;
  /** Default: daily. */
  refreshIntervalMs?: number;
  /** After a failed download, try again sooner (default: hourly). */
  retryIntervalMs?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
  now?: () => Date;
  log?: Logger;
}

export interface WhitelistStatus {
  source: 'none' | 'disk' | 'download';
  generatedAt?: Date;
  domains: number;
  lastSuccessAt?: Date;
  lastAttemptAt?: Date;
  lastError?: string;
}

export interface WhitelistStore {
  /** The list in force: the last one that verified, or undefined if none ever did. */
  current(): VerifiedWhitelist | undefined;
  status(): WhitelistStatus;
  /** Loads the last good copy from disk (verified again: anchors or validity may have changed). */
  loadFromDisk(): Promise<boolean>;
  /** Downloads, verifies and, if good and not older than the list in force, installs and saves it. */
  refresh(): Promise<{ updated: boolean; error?: string }>;
  /** loadFromDisk, refresh, then refresh on schedule until stop(). */
  start(): Promise<void>;
  stop(): void;
}

export function createWhitelistStore(options: WhitelistStoreOptions): WhitelistStore {
  const now = options.now ?? (() => new Date());
  const doFetch = options.fetch ?? fetch;
  const refreshIntervalMs = options.refreshIntervalMs ?? 24 * 3600_000;
  const retryIntervalMs = options.retryIntervalMs ?? 3600_000;
  const timeoutMs = options.timeoutMs ?? 30_000;
  let current: VerifiedWhitelist | undefined;
  let source: WhitelistStatus['source'] = 'none';
  let lastSuccessAt: Date | undefined;
  let lastAttemptAt: Date | undefined;
  let lastError: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const verify = (xml: string) => verifyWhitelist(xml, { ...options.trust, now: now() });

  async function download(): Promise<string> {
    const res = await doFetch(options.url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Error(`HTTP ${res.status} from ${options.url}`);
    }
    const declared = Number(res.headers.get('content-length') ?? '0');
    if (declared > MAX_WHITELIST_BYTES) {
      await res.body?.cancel();
      throw new Error(`${options.url} announces ${declared} bytes, over the ${MAX_WHITELIST_BYTES} limit`);
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = res.body?.getReader();
    for (;;) {
      const next = await reader?.read();
      if (!next || next.done) break;
      size += next.value.byteLength;
      if (size > MAX_WHITELIST_BYTES) {
        await reader?.cancel();
        throw new Error(`${options.url} sent more than ${MAX_WHITELIST_BYTES} bytes`);
      }
      chunks.push(next.value);
    }
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  }

  async function save(xml: string): Promise<void> {
    await mkdir(dirname(options.cacheFile), { recursive: true });
    const tmp = `${options.cacheFile}.${process.pid}.tmp`;
    await writeFile(tmp, xml, { encoding: 'utf8', mode: 0o644 });
    await rename(tmp, options.cacheFile);
  }

  async function refresh(): Promise<{ updated: boolean; error?: string }> {
    lastAttemptAt = now();
    try {
      const xml = await download();
      const verified = verify(xml);
      if (current && verified.whitelist.generatedAt < current.whitelist.generatedAt) {
        throw new Error(
          `downloaded list generated ${verified.whitelist.generatedAt.toISOString()} is older than the one in force (${current.whitelist.generatedAt.toISOString()})`,
        );
      }
      await save(xml);
      current = verified;
      source = 'download';
      lastSuccessAt = now();
      lastError = undefined;
      options.log?.info('DRIM-M whitelist updated', {
        generatedAt: verified.whitelist.generatedAt.toISOString(),
        domains: verified.whitelist.domains.length,
        signingTime: verified.signingTime.toISOString(),
      });
      return { updated: true };
    } catch (err) {
      lastError = (err as Error).message;
      options.log?.warn('DRIM-M whitelist refresh failed; keeping the list in force', {
        url: options.url,
        error: lastError,
        inForceGeneratedAt: current?.whitelist.generatedAt.toISOString(),
      });
      return { updated: false, error: lastError };
    }
  }

  async function loadFromDisk(): Promise<boolean> {
    let xml: string;
    try {
      xml = await readFile(options.cacheFile, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    try {
      current = verify(xml);
      source = 'disk';
      return true;
    } catch (err) {
      options.log?.warn('saved DRIM-M whitelist no longer verifies; ignoring it', { file: options.cacheFile, error: (err as Error).message });
      return false;
    }
  }

  function schedule(delayMs: number): void {
    if (stopped) return;
    timer = setTimeout(() => {
      void refresh().then((r) => schedule(r.updated ? refreshIntervalMs : retryIntervalMs));
    }, delayMs);
    timer.unref();
  }

  return {
    current: () => current,
    status: () => ({
      source,
      generatedAt: current?.whitelist.generatedAt,
      domains: current?.whitelist.domains.length ?? 0,
      lastSuccessAt,
      lastAttemptAt,
      lastError,
    }),
    loadFromDisk,
    refresh,
    async start() {
      stopped = false;
      await loadFromDisk();
      const first = await refresh();
      schedule(first.updated ? refreshIntervalMs : retryIntervalMs);
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
