import { join } from 'node:path';
import type { Config } from '../../appliance/src/config/schema.js';

/** DIMSE settings of a box under test, its SCP on loopback (a free port): `responseTimeoutMs` as the test needs. */
export function loopbackDimse(responseTimeoutMs: number): Config['dimse'] {
  return {
    port: 0,
    listenHost: '127.0.0.1',
    allowedCallingAeTitles: [],
    allowedPeerAddresses: [],
    maxInboundAssociations: 16,
    connectTimeoutMs: 5_000,
    responseTimeoutMs,
    maxPduLength: 262_144,
  };
}

/**
 * The configuration of a box under test on loopback: every listener on 127.0.0.1 (free ports unless given), plain
 * HTTP, exams taken as complete at once, no ANS whitelist (one machine has none), quiet logs, its own update lock
 * (not balena's shared /tmp/balena one, which boxes of parallel tests would take from each other); `extra` on top.
 */
export interface LoopbackBox {
  dataDir: string;
  pacsPort: number;
  dimsePort: number;
  httpPort?: number;
  xds?: Record<string, unknown>;
  psc?: { issuer: string; clientId: string; clientSecret: string };
  extra?: Record<string, unknown>;
}

export function loopbackBoxConfig(b: LoopbackBox): Record<string, unknown> {
  const base: Record<string, unknown> = {
    dataDir: b.dataDir,
    pacs: { port: b.pacsPort },
    dimse: { port: b.dimsePort, listenHost: '127.0.0.1' },
    http: { port: b.httpPort ?? 0, host: '127.0.0.1', tls: { enabled: false } },
    lan: { port: 0, host: '127.0.0.1' },
    kiosk: { port: 0 },
    hl7: { port: 0, host: '127.0.0.1' },
    source: { stableAfterMs: 0, recheckMs: 100 },
    ...(b.xds ? { xds: b.xds } : {}),
    ...(b.psc ? { psc: b.psc } : {}),
    access: { requireWhitelisted: false },
    log: { level: 'error' },
    device: { updateLockFile: join(b.dataDir, 'updates.lock') },
  };
  for (const [key, value] of Object.entries(b.extra ?? {})) {
    const prev = base[key];
    base[key] = prev && typeof prev === 'object' && value && typeof value === 'object' ? { ...prev, ...value } : value;
  }
  return base;
}
