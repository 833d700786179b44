import { X509Certificate } from 'node:crypto';

export class UntrustedCertificate extends Error {}

/** Reads a base64 DER certificate (as in ds:X509Certificate). */
export function certificateFromBase64(b64: string, what: string): X509Certificate {
  const compact = b64.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) throw new UntrustedCertificate(`${what}: the X509Certificate is not base64 (found "${compact.slice(0, 20)}…")`);
  try {
    return new X509Certificate(Buffer.from(compact, 'base64'));
  } catch (err) {
    throw new UntrustedCertificate(`${what}: the X509Certificate is not a readable X.509 certificate (${(err as Error).message})`);
  }
}

/** Checks that `cert` was issued by `ca` (signature and issuer name), is in its validity period, and is not a CA. */
export function checkIssuedBy(cert: X509Certificate, ca: X509Certificate, now: Date, what: string): void {
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    throw new UntrustedCertificate(`${what}: the signing certificate "${oneLine(cert.subject)}" (issuer "${oneLine(cert.issuer)}") is not issued by the DMP's trusted CA "${oneLine(ca.subject)}"`);
  }
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (now < from || now > to) throw new UntrustedCertificate(`${what}: the signing certificate is outside its validity period (${cert.validFrom} – ${cert.validTo})`);
  if (cert.ca) throw new UntrustedCertificate(`${what}: the signing certificate is a CA certificate`);
}

/** Node prints subjects one attribute per line; this joins them RFC 4514-style for messages. */
export function oneLine(subject: string): string {
  return subject.split('\n').reverse().join(', ');
}

/** A distinguished name as a sorted multiset of "TYPE=value" (order and spacing do not matter). */
export function dnKey(dn: string): string {
  const parts = dn.includes('\n') ? dn.split('\n') : splitRfc4514(dn);
  return parts
    .map((p) => {
      const eq = p.indexOf('=');
      return `${p.slice(0, eq).trim().toUpperCase()}=${p.slice(eq + 1).trim().replace(/\\(.)/g, '$1')}`;
    })
    .sort()
    .join('\n');
}

function splitRfc4514(dn: string): string[] {
  const out: string[] = [];
  let current = '';
  for (let i = 0; i < dn.length; i++) {
    const c = dn[i]!;
    if (c === '\\' && i + 1 < dn.length) {
      current += c + dn[++i];
    } else if (c === ',' || c === ';') {
      out.push(current);
      current = '';
    } else current += c;
  }
  if (current.trim()) out.push(current);
  return out;
}

/** The OU values of a Node-formatted subject. */
export function subjectOus(subject: string | undefined): string[] {
  return (subject ?? '')
    .split('\n')
    .filter((l) => l.startsWith('OU='))
    .map((l) => l.slice(3));
}
