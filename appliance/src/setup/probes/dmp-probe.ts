import { X509Certificate } from 'node:crypto';
import type { SecureContext } from 'node:tls';
import { readFile } from 'node:fs/promises';
import type { XdsConfig } from '../../xds/config-schema.js';
import { endpointsFromConfig } from '../../xds/config.js';
import type { Pkcs11Config } from '../../auth/pkcs11/config-schema.js';
import { engineSecureContext, tokenTlsCredential } from '../../auth/pkcs11/tls-key.js';
import { tlsCredentialFromPkcs12 } from '../../auth/signer/file-signer.js';
import { bodyStart, clockSkewSeconds, parseHttpUrl, probeGet, type HttpGetOptions, type NetworkFailureKind, type ProbeOutcome } from './outcome.js';
import { MAX_CLOCK_SKEW_SECONDS } from './psc-probe.js';

export type DmpReason =
  | 'not-configured'
  | 'invalid-url'
  | 'unreachable'
  | 'timeout'
  | 'server-untrusted'
  | 'client-certificate-refused'
  | 'certificate-unreadable'
  | 'ca-unreadable'
  | 'tls-failed';

export interface DmpFacts {
  registryUrl: string;
  /** The box's TLS client certificate, as sent. */
  clientSubject: string;
  clientNotAfter: string;
  tlsVersion: string;
  serverSubject: string;
  httpStatus: number;
  /** The DMP's clock minus the box's, from the HTTP Date header. */
  clockSkewSeconds?: number;
  elapsedMs: number;
}

const FAILURES: Record<NetworkFailureKind, DmpReason> = { unreachable: 'unreachable', timeout: 'timeout', 'tls-untrusted': 'server-untrusted', 'tls-alert': 'client-certificate-refused', 'tls-failed': 'tls-failed', 'not-http': 'tls-failed' };

type Credential = { key: string; cert: string } | { secureContext: SecureContext; cert: string };

/** The structure's TLS key as the box would use it: from the token when pkcs11.structure names one, else the PKCS#12 file. */
async function clientCredential(xds: XdsConfig, ca: Buffer, token?: Pkcs11Config['structure']): Promise<Credential> {
  if (token?.tlsKeyLabel) {
    const selector = { ...(token.tokenLabel ? { label: token.tokenLabel } : {}), ...(token.tokenSerial ? { serial: token.tokenSerial } : {}) };
    const onToken = tokenTlsCredential({ module: token.module, token: selector, keyLabel: token.tlsKeyLabel, pin: token.pin, engine: token.engine });
    return { secureContext: engineSecureContext(onToken, { ca, minVersion: 'TLSv1.2' }), cert: onToken.cert };
  }
  return tlsCredentialFromPkcs12(await readFile(xds.tlsP12File), xds.tlsP12Password);
}

function missingSettings(xds: XdsConfig, token?: Pkcs11Config['structure']): string[] {
  const missing: string[] = [];
  try {
    endpointsFromConfig(xds);
  } catch (err) {
    missing.push((err as Error).message);
  }
  if (!xds.caFile) missing.push('xds.caFile');
  if (!xds.tlsP12File && !token?.tlsKeyLabel) missing.push('xds.tlsP12File');
  return missing;
}

/**
 * Mutual TLS to the DMP registry with the draft's settings, then one harmless GET: any HTTP answer after the
 * handshake proves both certificates were accepted (a SOAP endpoint answers a GET with 405 or a fault, never data).
 */
export async function dmpConnectionTest(xds: XdsConfig, pkcs11Structure?: Pkcs11Config['structure'], options: { timeoutMs?: number } = {}): Promise<ProbeOutcome<DmpReason, DmpFacts>> {
  const missing = missingSettings(xds, pkcs11Structure);
  if (missing.length) return { ok: false, reason: 'not-configured', detail: `missing: ${missing.join('; ')}` };
  const registryUrl = endpointsFromConfig(xds).registryUrl;
  const url = parseHttpUrl(registryUrl);
  if (!url || url.protocol !== 'https:') return { ok: false, reason: 'invalid-url', detail: `registry URL "${registryUrl.slice(0, 200)}" is not an https URL` };
  let ca: Buffer;
  try {
    ca = await readFile(xds.caFile);
    new X509Certificate(ca);
  } catch (err) {
    return { ok: false, reason: 'ca-unreadable', detail: `xds.caFile ${xds.caFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  let credential: Credential;
  let client: X509Certificate;
  try {
    credential = await clientCredential(xds, ca, pkcs11Structure);
    client = new X509Certificate(credential.cert);
  } catch (err) {
    const where = pkcs11Structure?.tlsKeyLabel ? `token key "${pkcs11Structure.tlsKeyLabel}"` : `xds.tlsP12File ${xds.tlsP12File}`;
    return { ok: false, reason: 'certificate-unreadable', detail: `${where}: ${(err as NodeJS.ErrnoException).code ?? ''} ${(err as Error).message}`.trim() };
  }
  const clientFacts = { registryUrl, clientSubject: client.subject.replace(/\n/g, ', '), clientNotAfter: new Date(client.validTo).toISOString() };
  const tls: HttpGetOptions['tls'] = 'secureContext' in credential ? { secureContext: credential.secureContext } : { ca, key: credential.key, cert: credential.cert };
  const got = await probeGet(url, registryUrl, { timeoutMs: options.timeoutMs ?? xds.connectTimeoutMs + 5_000, maxBytes: 16 * 1024, headers: { accept: '*/*' }, tls });
  if (!got.ok) {
    const facts = { ...clientFacts, elapsedMs: got.elapsedMs };
    // TLS 1.3: the server checks the client certificate after the client's handshake ends, then closes without a word.
    if (got.kind === 'unreachable' && got.tlsEstablished) {
      return { ok: false, reason: 'client-certificate-refused', detail: `GET ${registryUrl}: the DMP closed the connection right after the TLS handshake, without an HTTP answer (${got.why})`, facts };
    }
    return { ok: false, reason: FAILURES[got.kind], detail: got.detail, facts };
  }
  const { answer } = got;
  const skew = clockSkewSeconds(answer.headers.date, answer.receivedAt);
  const facts: DmpFacts = {
    ...clientFacts,
    tlsVersion: answer.tls?.protocol ?? 'unknown',
    serverSubject: answer.tls?.peerSubject ?? 'unknown',
    httpStatus: answer.status,
    ...(skew !== undefined ? { clockSkewSeconds: skew } : {}),
    elapsedMs: got.elapsedMs,
  };
  const warnings: { reason: string; detail: string }[] = [];
  if (skew !== undefined && Math.abs(skew) > MAX_CLOCK_SKEW_SECONDS) {
    warnings.push({ reason: 'clock-skew', detail: `the DMP's clock differs from the box's by ${skew} s (Date: ${answer.headers.date}): TLS and VIHF tokens need the right time` });
  }
  if (answer.status === 401 || answer.status === 403) {
    warnings.push({ reason: 'access-denied', detail: `TLS accepted, but the registry answered HTTP ${answer.status}: ${bodyStart(answer.body, 300)}` });
  }
  return { ok: true, facts, ...(warnings.length ? { warnings } : {}) };
}
