import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';

/**
 * The box's own TLS identity until the technician installs the practice's certificate (http.tls.certFile): a
 * self-signed certificate made by OpenSSL at first start in `<dataDir>/tls/`, kept across restarts (its fingerprint
 * is what a LAN browser is asked to accept), and made again only when it is about to expire.
 */
export interface BoxCertificate {
  certFile: string;
  keyFile: string;
  selfSigned: boolean;
  /** SHA-256 fingerprint, as browsers show it (AA:BB:…). */
  fingerprint256: string;
  notAfter: Date;
}

/** A self-signed certificate lives about two years; it is made again within 30 days of its end. */
const VALID_DAYS = 825;
const RENEW_BEFORE_MS = 30 * 24 * 3600_000;

export function describeCertificate(certFile: string, keyFile: string, selfSigned: boolean): BoxCertificate {
  const cert = new X509Certificate(readFileSync(certFile));
  return { certFile, keyFile, selfSigned, fingerprint256: cert.fingerprint256, notAfter: new Date(cert.validTo) };
}

/** The names a LAN browser may use for the box: its hostname (also .local, mDNS), localhost, its IPv4 addresses. */
export function boxNames(): { dns: string[]; ips: string[] } {
  const host = hostname().replace(/[^A-Za-z0-9.-]/g, '') || 'drimbox';
  const ips = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && a.family === 'IPv4')
    .map((a) => a!.address);
  return { dns: [...new Set([host, `${host.split('.')[0]}.local`, 'localhost'])], ips: [...new Set(['127.0.0.1', ...ips])] };
}

export function ensureSelfSignedCertificate(dataDir: string, now = new Date()): BoxCertificate {
  const dir = join(dataDir, 'tls');
  const certFile = join(dir, 'self-signed.crt');
  const keyFile = join(dir, 'self-signed.key');
  if (existsSync(certFile) && existsSync(keyFile)) {
    const current = describeCertificate(certFile, keyFile, true);
    const paired = new X509Certificate(readFileSync(certFile)).checkPrivateKey(createPrivateKey(readFileSync(keyFile)));
    if (paired && current.notAfter.getTime() - now.getTime() > RENEW_BEFORE_MS) return current;
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const names = boxNames();
  const san = [...names.dns.map((d) => `DNS:${d}`), ...names.ips.map((i) => `IP:${i}`)].join(',');
  const tmpCert = `${certFile}.new`;
  const tmpKey = `${keyFile}.new`;
  try {
    execFileSync(
      'openssl',
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-sha256',
        '-days', String(VALID_DAYS), '-subj', `/O=DRIMbox/CN=${names.dns[0]}`,
        '-addext', `subjectAltName=${san}`, '-addext', 'keyUsage=critical,digitalSignature', '-addext', 'extendedKeyUsage=serverAuth',
        '-keyout', tmpKey, '-out', tmpCert,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 },
    );
  } catch (err) {
    rmSync(tmpKey, { force: true });
    rmSync(tmpCert, { force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`cannot make the box's self-signed TLS certificate with openssl: ${stderr || (err as Error).message}`);
  }
  chmodSync(tmpKey, 0o600);
  // A crash between the two renames leaves a new key beside the old certificate: the pairing check above remakes both.
  renameSync(tmpKey, keyFile);
  renameSync(tmpCert, certFile);
  return describeCertificate(certFile, keyFile, true);
}

/** The certificate the box's TLS listeners present: the practice's when configured, else the self-signed one. */
export function listenerCertificate(tls: { enabled: boolean; certFile: string; keyFile: string }, dataDir: string): BoxCertificate | undefined {
  if (!tls.enabled) {
    if (tls.certFile || tls.keyFile) throw new Error('http.tls.enabled is false but http.tls.certFile/keyFile are set: choose one');
    return undefined;
  }
  if (Boolean(tls.certFile) !== Boolean(tls.keyFile)) {
    throw new Error('http.tls.certFile and http.tls.keyFile go together: set both, or neither for the self-signed certificate');
  }
  return tls.certFile ? describeCertificate(tls.certFile, tls.keyFile, false) : ensureSelfSignedCertificate(dataDir);
}
