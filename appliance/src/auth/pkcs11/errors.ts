import { CredentialError } from '../signer/signer.js';

/**
 * What a PKCS#11 failure means for the person in front of the box. The return values are PKCS#11 v2.40's
 * (pkcs11-base §5.1, "CKR_*"): a card or token says these, and nothing else tells us why an operation failed.
 */
export type TokenFailureKind =
  | 'wrong-pin'
  | 'pin-locked'
  | 'pin-attempts-exhausted'
  | 'pin-format'
  | 'token-removed'
  | 'not-logged-in'
  | 'mechanism-unsupported'
  | 'not-found'
  | 'module'
  | 'other';

/** The token's own account of the PIN tries left (CK_TOKEN_INFO flags); a card never tells the exact count. */
export type PinTries = 'ok' | 'low' | 'final-try' | 'locked';

export class TokenError extends CredentialError {
  constructor(
    message: string,
    readonly kind: TokenFailureKind,
    readonly pinTries?: PinTries,
    options?: { cause?: unknown },
  ) {
    super(message);
    this.name = 'TokenError';
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

const CKR = {
  GENERAL_ERROR: 0x05,
  DEVICE_ERROR: 0x30,
  DEVICE_REMOVED: 0x32,
  KEY_TYPE_INCONSISTENT: 0x63,
  KEY_FUNCTION_NOT_PERMITTED: 0x68,
  MECHANISM_INVALID: 0x70,
  MECHANISM_PARAM_INVALID: 0x71,
  OBJECT_HANDLE_INVALID: 0x82,
  PIN_INCORRECT: 0xa0,
  PIN_INVALID: 0xa1,
  PIN_LEN_RANGE: 0xa2,
  PIN_EXPIRED: 0xa3,
  PIN_LOCKED: 0xa4,
  SESSION_CLOSED: 0xb0,
  SESSION_HANDLE_INVALID: 0xb3,
  TOKEN_NOT_PRESENT: 0xe0,
  TOKEN_NOT_RECOGNIZED: 0xe1,
  USER_NOT_LOGGED_IN: 0x101,
  CRYPTOKI_NOT_INITIALIZED: 0x190,
} as const;

/** Return values after which the session is gone: the card was pulled out, reset, or the token re-initialised. */
const GONE = new Set<number>([
  CKR.DEVICE_REMOVED,
  CKR.SESSION_CLOSED,
  CKR.SESSION_HANDLE_INVALID,
  CKR.TOKEN_NOT_PRESENT,
  CKR.TOKEN_NOT_RECOGNIZED,
  CKR.OBJECT_HANDLE_INVALID,
  CKR.DEVICE_ERROR,
]);

export function pkcs11Code(err: unknown): number | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

/** True when the failure means the session (or the token behind it) is gone and may be reopened. */
export function isSessionGone(err: unknown): boolean {
  const code = pkcs11Code(err);
  return code !== undefined && (GONE.has(code) || code === CKR.USER_NOT_LOGGED_IN);
}

/** The PIN state CK_TOKEN_INFO.flags announce (CKF_USER_PIN_COUNT_LOW 0x10000, FINAL_TRY 0x20000, LOCKED 0x40000). */
export function pinTriesFromFlags(flags: number): PinTries {
  if (flags & 0x40000) return 'locked';
  if (flags & 0x20000) return 'final-try';
  if (flags & 0x10000) return 'low';
  return 'ok';
}

/** A PKCS#11 error, or any other failure of a module call, as a TokenError that says what to do. */
export function tokenError(err: unknown, doing: string, pinTries?: PinTries): TokenError {
  if (err instanceof TokenError) return err;
  const code = pkcs11Code(err);
  const raw = (err as Error)?.message ?? String(err);
  const at = `${doing}: ${raw}`;
  switch (code) {
    case CKR.PIN_INCORRECT: {
      const left = pinTries === 'final-try' ? '; one try left before the card locks' : pinTries === 'low' ? '; few tries left' : '';
      return new TokenError(`${doing}: wrong PIN${left}`, 'wrong-pin', pinTries, { cause: err });
    }
    case CKR.PIN_LOCKED:
      return new TokenError(`${doing}: the PIN is locked; unlock the card with its PUK (CPS-Gestion) or ask for a new one`, 'pin-locked', 'locked', { cause: err });
    case CKR.PIN_INVALID:
    case CKR.PIN_LEN_RANGE:
      return new TokenError(`${doing}: the PIN has the wrong length or characters for this card`, 'pin-format', pinTries, { cause: err });
    case CKR.PIN_EXPIRED:
      return new TokenError(`${doing}: the PIN has expired; change it with the card's tool first`, 'pin-locked', pinTries, { cause: err });
    case CKR.USER_NOT_LOGGED_IN:
      return new TokenError(`${doing}: not logged in to the token (card reset?)`, 'not-logged-in', undefined, { cause: err });
    case CKR.MECHANISM_INVALID:
    case CKR.MECHANISM_PARAM_INVALID:
    case CKR.KEY_TYPE_INCONSISTENT:
    case CKR.KEY_FUNCTION_NOT_PERMITTED:
      return new TokenError(`${doing}: the token does not support this signature (${raw}); it needs RSA with CKM_SHA256_RSA_PKCS`, 'mechanism-unsupported', undefined, { cause: err });
    case CKR.CRYPTOKI_NOT_INITIALIZED:
      return new TokenError(`${doing}: the PKCS#11 module is not initialised (${raw})`, 'module', undefined, { cause: err });
    default:
      if (code !== undefined && GONE.has(code)) return new TokenError(`${doing}: the card or token was removed or reset (${raw})`, 'token-removed', undefined, { cause: err });
      if (code === CKR.GENERAL_ERROR) return new TokenError(`${doing}: the token failed (${raw}); was it removed?`, 'token-removed', undefined, { cause: err });
      return new TokenError(at, 'other', undefined, { cause: err });
  }
}
