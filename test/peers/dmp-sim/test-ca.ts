import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A throwaway certificate authority for tests and the demo, driven by the openssl CLI (Node cannot
 * issue X.509 certificates by itself). Stands in for IGC-Santé: it issues the DMP simulator's
 * server certificate, the box's ORG AUTH_CLI client certificate (subject with OU = structure id,
 * ci-sis-imaging.md §4) and its signature certificate (VIHF and XAdES signer).
 */

export interface TestCa {
  dir: string;
  certPem: string;
  keyPem: string;
  certPath: string;
  keyPath: string;
}

export type CertificateUsage = 'server' | 'client' | 'signature';

export interface IssueOptions {
  /** File stem inside the CA folder (letters, digits, dash). */
  name: string;
  /** Subject in openssl -subj form, e.g. `/C=FR/O=CABINET X/OU=499700367909006/CN=DRIMbox`. */
  subject: string;
  usage: CertificateUsage;
  dnsNames?: string[];
  ipAddresses?: string[];
  days?: number;
  /** Also write a PKCS#12 bundle (key + certificate + CA) protected by this password. */
  p12Password?: string;
}

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
  certPath: string;
  keyPath: string;
  p12Path?: string;
}

/** Loads the CA kept in `dir`, or creates one there. */
export function loadOrCreateTestCa(dir: string, subject = '/C=FR/O=DRIMbox tests/CN=DMP Simulator Test CA'): TestCa {
  mkdirSync(dir, { recursive: true });
  const certPath = join(dir, 'ca.pem');
  const keyPath = join(dir, 'ca.key');
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '3650', '-subj', subject,
      '-keyout', keyPath, '-out', certPath,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  }
  return { dir, certPath, keyPath, certPem: readFileSync(certPath, 'utf8'), keyPem: readFileSync(keyPath, 'utf8') };
}

/** Writes a CA given as PEM into `dir` so that openssl can sign with it. */
export function testCaFromPem(dir: string, certPem: string, keyPem: string): TestCa {
  mkdirSync(dir, { recursive: true });
  const certPath = join(dir, 'ca.pem');
  const keyPath = join(dir, 'ca.key');
  writeFileSync(certPath, certPem);
  writeFileSync(keyPath, keyPem, { mode: 0o600 });
  return { dir, certPath, keyPath, certPem, keyPem };
}

export function issueCertificate(ca: TestCa, options: IssueOptions): IssuedCertificate {
  if (!/^[A-Za-z0-9-]+$/.test(options.name)) throw new Error(`certificate name "${options.name}" must be letters, digits and dashes`);
  const base = join(ca.dir, options.name);
  const keyPath = `${base}.key`;
  const csrPath = `${base}.csr`;
  const certPath = `${base}.pem`;
  const extPath = `${base}.ext`;
  writeFileSync(extPath, extensions(options));
  openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-subj', options.subject, '-keyout', keyPath, '-out', csrPath]);
  openssl(['x509', '-req', '-sha256', '-in', csrPath, '-CA', ca.certPath, '-CAkey', ca.keyPath,
    '-set_serial', `0x${randomBytes(12).toString('hex')}`, '-days', String(options.days ?? 365),
    '-extfile', extPath, '-extensions', 'v3', '-out', certPath]);
  const issued: IssuedCertificate = { certPem: readFileSync(certPath, 'utf8'), keyPem: readFileSync(keyPath, 'utf8'), certPath, keyPath };
  if (options.p12Password !== undefined) {
    const p12Path = `${base}.p12`;
    openssl(['pkcs12', '-export', '-inkey', keyPath, '-in', certPath, '-certfile', ca.certPath,
      '-passout', `pass:${options.p12Password}`, '-out', p12Path]);
    issued.p12Path = p12Path;
  }
  return issued;
}

function extensions(options: IssueOptions): string {
  const lines = ['[v3]', 'basicConstraints=critical,CA:FALSE'];
  if (options.usage === 'server') lines.push('keyUsage=critical,digitalSignature,keyEncipherment', 'extendedKeyUsage=serverAuth');
  if (options.usage === 'client') lines.push('keyUsage=critical,digitalSignature,keyEncipherment', 'extendedKeyUsage=clientAuth');
  if (options.usage === 'signature') lines.push('keyUsage=critical,digitalSignature,nonRepudiation');
  const alt = [...(options.dnsNames ?? []).map((d) => `DNS:${d}`), ...(options.ipAddresses ?? []).map((ip) => `IP:${ip}`)];
  if (alt.length > 0) lines.push(`subjectAltName=${alt.join(',')}`);
  return lines.join('\n') + '\n';
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim() ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr || (err as Error).message}`);
  }
}
