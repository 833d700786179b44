import { existsSync } from 'node:fs';
import { cardHolderFrom, type CardHolder } from './holder.js';
import type { TokenSummary } from './tokens.js';

/** Where Debian puts OpenSC's module (package opensc-pkcs11), per architecture: the default reader module. */
const OPENSC = ['/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so', '/usr/lib/aarch64-linux-gnu/opensc-pkcs11.so', '/usr/lib/arm-linux-gnueabihf/opensc-pkcs11.so'];

export function defaultCardModule(): string | undefined {
  return OPENSC.find((p) => existsSync(p));
}

/** The holder a token's certificates name: the authentication certificate first, then any CPS-shaped one. */
export function holderOf(token: TokenSummary): CardHolder | undefined {
  const ordered = [...token.certificates].sort((a, b) => rank(a.label) - rank(b.label));
  for (const c of ordered) {
    try {
      return cardHolderFrom(c.certificate);
    } catch {
      // not a professional's certificate (a structure's, a CA's): try the next one
    }
  }
  return undefined;
}

function rank(label: string): number {
  if (/authentification/i.test(label)) return 0;
  if (/signature/i.test(label)) return 1;
  return 2;
}

/** What `drimbox card info` prints for one token: public facts only, never a key or a PIN. */
export function describeToken(token: TokenSummary) {
  const holder = holderOf(token);
  return {
    label: token.label,
    serial: token.serial,
    model: token.model,
    manufacturer: token.manufacturer,
    pinTries: token.pinTries,
    ...(holder ? { holder } : {}),
    certificates: token.certificates.map((c) => ({
      label: c.label,
      id: c.id,
      subject: c.certificate.subject.split('\n').join(', '),
      issuer: c.certificate.issuer.split('\n').join(', '),
      notAfter: new Date(c.certificate.validTo).toISOString(),
    })),
  };
}
