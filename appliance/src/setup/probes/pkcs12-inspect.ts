import { execFile } from 'node:child_process';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { lstat, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import type { ProbeOutcome } from './outcome.js';

export type Pkcs12Reason =
  | 'unreadable-file'
  | 'not-pkcs12'
  | 'wrong-password'
  | 'no-private-key'
  | 'no-certificate'
  | 'expired'
  | 'not-yet-valid'
  | 'chain-untrusted'
  | 'ca-unreadable';

export interface Pkcs12Facts {
  subject: string;
  /** The subject's OU values; IGC-Santé ORG certificates hold the structure identifier there. */
  organizationalUnits: string[];
  structureId?: string;
  issuer: string;
  notBefore: string;
  notAfter: string;
  daysLeft: number;
  serial: string;
  hasPrivateKey: boolean;
  /** Certificates in the file besides the key's own (its issuers, usually). */
  otherCertificates: number;
  /** The file needed OpenSSL's legacy provider (RC2 or DES encryption of older exports). */
  legacyEncryption: boolean;
  chain: 'trusted' | 'not-checked';
  keyUsage?: string;
  extendedKeyUsage?: string;
}

const MAX_P12_BYTES = 1024 * 1024;
const OPENSSL_TIMEOUT_MS = 10_000;
const EXPIRES_SOON_DAYS = 30;
const DAY_MS = 86_400_000;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** OpenSSL's command line, with a deadline; the password only ever in the child's environment. */
function openssl(args: string[], options: { password?: string; input?: string } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...(options.password !== undefined ? { DRIMBOX_P12_PASSWORD: options.password } : {}) };
    const child = execFile('openssl', args, { env, timeout: OPENSSL_TIMEOUT_MS, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr: err && code === -1 ? `${stderr}${err.message}` : stderr });
    });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(options.input ?? '');
  });
}

function firstLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).filter(Boolean).slice(0, 3).join(' | ').slice(0, 400);
}

async function readPkcs12(file: string, password: string): Promise<{ pem: string; legacy: boolean } | { reason: Pkcs12Reason; detail: string }> {
  const args = ['pkcs12', '-in', file, '-nodes', '-passin', 'env:DRIMBOX_P12_PASSWORD'];
  let run = await openssl(args, { password });
  let legacy = false;
  if (run.code !== 0 && /unsupported|RC2|legacy/i.test(run.stderr) && !/Mac verify error/i.test(run.stderr)) {
    legacy = true;
    run = await openssl([...args, '-legacy'], { password });
  }
  if (run.code === 0) return { pem: run.stdout, legacy };
  if (/Mac verify error|MAC verification failed|invalid password|wrong password|bad decrypt/i.test(run.stderr)) return { reason: 'wrong-password', detail: firstLine(run.stderr) };
  if (/asn1|wrong tag|not enough data|header too long|Type=PKCS12/i.test(run.stderr)) return { reason: 'not-pkcs12', detail: firstLine(run.stderr) };
  return { reason: 'unreadable-file', detail: `openssl pkcs12 exited ${run.code}: ${firstLine(run.stderr)}` };
}

function extension(text: string, name: string): string | undefined {
  const m = new RegExp(`X509v3 ${name}:[^\\n]*\\n\\s+([^\\n]+)`).exec(text);
  return m?.[1]?.trim();
}

/** `openssl verify` of the certificate against caFile, the file's other certificates as untrusted intermediates. */
async function verifyChain(leaf: X509Certificate, others: string[], caFile: string): Promise<{ ok: boolean; detail: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'drimbox-p12-chain-'));
  try {
    const args = ['verify', '-CAfile', caFile];
    if (others.length) {
      await writeFile(join(dir, 'untrusted.pem'), others.join('\n'));
      args.push('-untrusted', join(dir, 'untrusted.pem'));
    }
    await writeFile(join(dir, 'certificate.pem'), leaf.toString());
    const run = await openssl([...args, join(dir, 'certificate.pem')]);
    return { ok: run.code === 0, detail: firstLine(`${run.stdout}\n${run.stderr}`.replaceAll(dir + '/', '')) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A structure certificate file as the field's reference tool reads it, with what a technician must know before using it. */
export async function inspectPkcs12(input: { file: string; password: string; caFile?: string }): Promise<ProbeOutcome<Pkcs12Reason, Pkcs12Facts>> {
  try {
    const info = await lstat(input.file);
    if (!info.isFile()) return { ok: false, reason: 'unreadable-file', detail: `${input.file} is not a regular file` };
    if (info.size > MAX_P12_BYTES) return { ok: false, reason: 'not-pkcs12', detail: `${info.size} bytes: larger than any certificate file (${MAX_P12_BYTES})` };
  } catch (err) {
    return { ok: false, reason: 'unreadable-file', detail: `${input.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  const read = await readPkcs12(input.file, input.password);
  if ('reason' in read) return { ok: false, reason: read.reason, detail: read.detail };
  const certs = read.pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const keyPem = /-----BEGIN (?:RSA |EC )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC )?PRIVATE KEY-----/.exec(read.pem)?.[0];
  if (certs.length === 0) return { ok: false, reason: 'no-certificate', detail: 'the file holds no certificate' };
  const parsed = certs.map((c) => new X509Certificate(c));
  let index = 0;
  if (keyPem) {
    const spki = createPublicKey(keyPem).export({ type: 'spki', format: 'der' });
    index = parsed.findIndex((c) => c.publicKey.export({ type: 'spki', format: 'der' }).equals(spki));
    if (index < 0) return { ok: false, reason: 'no-certificate', detail: 'no certificate in the file matches its private key' };
  }
  const leaf = parsed[index]!;
  const others = certs.filter((_, i) => i !== index);
  const notBefore = new Date(leaf.validFrom);
  const notAfter = new Date(leaf.validTo);
  const subjectLines = leaf.subject.split('\n');
  const organizationalUnits = subjectLines.filter((l) => l.startsWith('OU=')).map((l) => l.slice(3));
  const ext = await openssl(['x509', '-noout', '-ext', 'keyUsage,extendedKeyUsage'], { input: leaf.toString() });
  const keyUsage = extension(ext.stdout, 'Key Usage');
  const extendedKeyUsage = extension(ext.stdout, 'Extended Key Usage');
  const facts: Pkcs12Facts = {
    subject: subjectLines.join(', '),
    organizationalUnits,
    ...(organizationalUnits[0] ? { structureId: organizationalUnits[0] } : {}),
    issuer: leaf.issuer.split('\n').join(', '),
    notBefore: notBefore.toISOString(),
    notAfter: notAfter.toISOString(),
    daysLeft: Math.floor((notAfter.getTime() - Date.now()) / DAY_MS),
    serial: leaf.serialNumber,
    hasPrivateKey: keyPem !== undefined,
    otherCertificates: others.length,
    legacyEncryption: read.legacy,
    chain: 'not-checked',
    ...(keyUsage ? { keyUsage } : {}),
    ...(extendedKeyUsage ? { extendedKeyUsage } : {}),
  };
  if (!keyPem) return { ok: false, reason: 'no-private-key', detail: 'the file holds certificates only: the structure needs its private key too', facts };
  if (notAfter.getTime() < Date.now()) return { ok: false, reason: 'expired', detail: `expired on ${facts.notAfter}`, facts };
  if (notBefore.getTime() > Date.now()) return { ok: false, reason: 'not-yet-valid', detail: `valid from ${facts.notBefore} (the box's clock says ${new Date().toISOString()})`, facts };
  if (input.caFile) {
    try {
      new X509Certificate(await readFile(input.caFile));
    } catch (err) {
      return { ok: false, reason: 'ca-unreadable', detail: `${input.caFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, facts };
    }
    const chain = await verifyChain(leaf, others, input.caFile);
    if (!chain.ok) return { ok: false, reason: 'chain-untrusted', detail: chain.detail, facts };
    facts.chain = 'trusted';
  }
  const warnings = facts.daysLeft < EXPIRES_SOON_DAYS ? [{ reason: 'expires-soon', detail: `expires on ${facts.notAfter}, in ${facts.daysLeft} day(s)` }] : undefined;
  return { ok: true, facts, ...(warnings ? { warnings } : {}) };
}

export interface CertificateFile {
  name: string;
  size: number;
  kind: 'pkcs12' | 'certificate';
}

const KINDS: Record<string, CertificateFile['kind']> = { '.p12': 'pkcs12', '.pfx': 'pkcs12', '.pem': 'certificate', '.crt': 'certificate', '.cer': 'certificate' };
const MAX_LISTED = 200;
const MAX_SCANNED = 5_000;

/** The certificate files directly in a folder (a USB stick): regular files only, no symbolic link, no sub-folder. */
export async function listCertificateFiles(dir: string): Promise<CertificateFile[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: CertificateFile[] = [];
  for (const entry of entries.slice(0, MAX_SCANNED)) {
    if (out.length >= MAX_LISTED) break;
    const kind = KINDS[extname(entry.name).toLowerCase()];
    if (!kind || !entry.isFile() || entry.name.startsWith('.') || /[/\\\0]/.test(entry.name)) continue;
    try {
      const info = await lstat(join(dir, entry.name));
      if (info.isFile()) out.push({ name: entry.name, size: info.size, kind });
    } catch {
      // gone since the listing (stick pulled out): not listed
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
