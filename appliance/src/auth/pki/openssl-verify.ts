import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { X509Certificate } from 'node:crypto';

/**
 * Certificate path validation by OpenSSL (`openssl verify`, the field's reference implementation), not by steps of
 * our own: RFC 5280 basic constraints and path length, key usage for the purpose, validity at the given time,
 * strict X.509, and revocation when CRLs are given (every certificate of the chain is then checked).
 */
export interface ChainInput {
  leaf: X509Certificate;
  /** Intermediates the peer sent (never trusted by themselves). */
  untrusted: readonly X509Certificate[];
  anchors: readonly X509Certificate[];
  /** OpenSSL purpose: `smimesign` (a signature: digitalSignature or nonRepudiation), `sslclient` (TLS client). */
  purpose: 'smimesign' | 'sslclient';
  at: Date;
  /** PEM CRLs of the chain's CAs; when given, a chain whose CRL is missing or that lists a certificate fails. */
  crlPem?: string;
}

export class ChainRejected extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChainRejected';
  }
}

/** Returns the chain's subjects, leaf first, as OpenSSL built it; throws ChainRejected with OpenSSL's reason. */
export function verifyChain(input: ChainInput): string[] {
  if (input.anchors.length === 0) throw new ChainRejected('no trust anchor configured');
  const dir = mkdtempSync(join(tmpdir(), 'drimbox-chain-'));
  try {
    const pem = (certs: readonly X509Certificate[]) => certs.map((c) => c.toString()).join('\n');
    writeFileSync(join(dir, 'leaf.pem'), input.leaf.toString());
    writeFileSync(join(dir, 'anchors.pem'), pem(input.anchors));
    // -partial_chain: an anchor may be an intermediate (the IGC-Santé organisations CA), as RFC 5280 trust anchors may.
    const args = ['verify', '-x509_strict', '-partial_chain', '-show_chain', '-nameopt', 'RFC2253', '-purpose', input.purpose, '-attime', String(Math.floor(input.at.getTime() / 1000)), '-CAfile', join(dir, 'anchors.pem')];
    if (input.untrusted.length) {
      writeFileSync(join(dir, 'untrusted.pem'), pem(input.untrusted));
      args.push('-untrusted', join(dir, 'untrusted.pem'));
    }
    if (input.crlPem) {
      writeFileSync(join(dir, 'crls.pem'), input.crlPem);
      args.push('-crl_check_all', '-CRLfile', join(dir, 'crls.pem'));
    }
    args.push(join(dir, 'leaf.pem'));
    let out: string;
    try {
      out = execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      const reason = `${e.stdout ?? ''}${e.stderr ?? ''}`.split('\n').find((l) => /^error \d+ at \d+ depth/.test(l)) ?? e.message;
      throw new ChainRejected(`openssl verify: ${reason.replace(/^error \d+ at (\d+) depth lookup: /, 'certificate at depth $1: ')}`);
    }
    // -show_chain prints "depth=N: <subject> (untrusted)" lines after "<file>: OK".
    return out
      .split('\n')
      .map((l) => /^depth=\d+: (.*?)(?: \(untrusted\))?$/.exec(l)?.[1])
      .filter((s): s is string => s !== undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
