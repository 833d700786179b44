import { X509Certificate } from 'node:crypto';
import { pinTriesFromFlags, TokenError, tokenError, type PinTries } from './errors.js';
import { pkcs11js, text, type Handle, type Pkcs11 } from './module.js';

export interface TokenCertificate {
  label: string;
  /** CKA_ID, hex: pairs the certificate with its private key. */
  id: string;
  certificate: X509Certificate;
}

export interface TokenSummary {
  slot: Handle;
  label: string;
  serial: string;
  model: string;
  manufacturer: string;
  loginRequired: boolean;
  pinTries: PinTries;
  /** Public objects: readable without the PIN. */
  certificates: TokenCertificate[];
}

export interface TokenSelector {
  label?: string;
  serial?: string;
}

/** Every token present on the module, with its public certificates (no PIN needed). */
export function listTokens(lib: Pkcs11): TokenSummary[] {
  let slots: Handle[];
  try {
    slots = lib.C_GetSlotList(true);
  } catch (err) {
    throw tokenError(err, 'cannot list the card readers / token slots');
  }
  const tokens: TokenSummary[] = [];
  for (const slot of slots) {
    let info;
    try {
      info = lib.C_GetTokenInfo(slot);
    } catch {
      continue; // removed between the two calls, or not initialised: not a usable token
    }
    if (!(info.flags & pkcs11js().CKF_TOKEN_INITIALIZED)) continue;
    tokens.push({
      slot,
      label: text(info.label),
      serial: text(info.serialNumber),
      model: text(info.model),
      manufacturer: text(info.manufacturerID),
      loginRequired: (info.flags & pkcs11js().CKF_LOGIN_REQUIRED) !== 0,
      pinTries: pinTriesFromFlags(info.flags),
      certificates: readCertificates(lib, slot),
    });
  }
  return tokens;
}

/** The one token the selector names; refuses none or several (two cards inserted, two tokens with one label). */
export function selectToken(tokens: TokenSummary[], selector: TokenSelector, where: string): TokenSummary {
  const matching = tokens.filter((t) => (!selector.label || t.label === selector.label) && (!selector.serial || t.serial === selector.serial));
  const wanted = [selector.label && `label "${selector.label}"`, selector.serial && `serial ${selector.serial}`].filter(Boolean).join(' and ') || 'any';
  if (matching.length === 0) {
    const present = tokens.map((t) => `"${t.label}" (${t.serial})`).join(', ') || 'none';
    throw new TokenError(`${where}: no token with ${wanted} is present (tokens present: ${present})`, 'token-removed');
  }
  if (matching.length > 1) {
    throw new TokenError(`${where}: ${matching.length} tokens match ${wanted}; name the token by its label or serial`, 'not-found');
  }
  return matching[0]!;
}

export function tokenPinTries(lib: Pkcs11, slot: Handle): PinTries | undefined {
  try {
    return pinTriesFromFlags(lib.C_GetTokenInfo(slot).flags);
  } catch {
    return undefined;
  }
}

function readCertificates(lib: Pkcs11, slot: Handle): TokenCertificate[] {
  let session: Handle;
  try {
    session = lib.C_OpenSession(slot, pkcs11js().CKF_SERIAL_SESSION);
  } catch {
    return [];
  }
  try {
    return findObjects(lib, session, [{ type: pkcs11js().CKA_CLASS, value: pkcs11js().CKO_CERTIFICATE }], 16).flatMap((handle) => {
      const [label, id, value] = lib.C_GetAttributeValue(session, handle, [{ type: pkcs11js().CKA_LABEL }, { type: pkcs11js().CKA_ID }, { type: pkcs11js().CKA_VALUE }]);
      try {
        return [{ label: (label?.value as Buffer | undefined)?.toString('utf8') ?? '', id: ((id?.value as Buffer | undefined) ?? Buffer.alloc(0)).toString('hex'), certificate: new X509Certificate(value?.value as Buffer) }];
      } catch {
        return []; // not an X.509 certificate (attribute certificate, garbage): not ours to use
      }
    });
  } finally {
    try {
      lib.C_CloseSession(session);
    } catch {
      // the token went away while reading: the next poll sees it
    }
  }
}

/** C_FindObjects* bounded to `max` objects (a token's object list is the peer's). */
export function findObjects(lib: Pkcs11, session: Handle, template: { type: number; value: unknown }[], max: number): Handle[] {
  lib.C_FindObjectsInit(session, template as never);
  try {
    return lib.C_FindObjects(session, max);
  } finally {
    lib.C_FindObjectsFinal(session);
  }
}
