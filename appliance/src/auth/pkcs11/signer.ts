import type { X509Certificate } from 'node:crypto';
import type { SignatureAlgorithmName, Signer } from '../signer/signer.js';
import { isSessionGone, TokenError, tokenError } from './errors.js';
import { pkcs11js, text, type Handle, type Pkcs11, Pkcs11Module } from './module.js';
import { findObjects, listTokens, selectToken, tokenPinTries, type TokenSelector } from './tokens.js';

/** The token left its slot: CKR_TOKEN_NOT_PRESENT (0xE0), as a real module says it. */
class TokenGone extends Error {
  readonly code = 0xe0;
}

/** RSA PKCS#1 v1.5 with the hash done on the token (IAS-ECC hashes its last round on the card: §2.3). */
const mechanism = (algorithm: SignatureAlgorithmName): number => (algorithm === 'rsa-sha256' ? pkcs11js().CKM_SHA256_RSA_PKCS : pkcs11js().CKM_SHA1_RSA_PKCS);

export interface TokenKeyOptions {
  module: string;
  token: TokenSelector;
  /** CKA_LABEL of the private key: CPS_PRIV_SIG on a CPS card, the label given at import on an HSM. */
  keyLabel: string;
  /**
   * The user PIN when a session has to be (re)opened. A structure's token gives its configured PIN each time; a
   * card at the box gives it once (then undefined: the holder types it again after a removal).
   */
  pin: () => string | undefined;
  /**
   * Log out first, so that the PIN is really checked: the login state is the token's, shared by the process's
   * sessions (a card at the box: every holder types their own PIN, even if the card was logged in a moment ago).
   */
  freshLogin?: boolean;
}

interface OpenKey {
  token: { label: string; serial: string };
  slot: Handle;
  session: Handle;
  key: Handle;
  epoch: number;
}

/**
 * A Signer whose RSA key never leaves a PKCS#11 token. The certificate is the token's object with the key's
 * CKA_ID. After a card or token reset the session is reopened and logged in again (when a PIN is at hand) and
 * the signature retried once; every PKCS#11 failure comes out as a TokenError that says what happened.
 */
export class Pkcs11Signer implements Signer {
  private open: OpenKey | undefined;
  private readonly cert: X509Certificate;
  private readonly first: OpenKey;
  private readonly chain: string[];
  private closed = false;

  private constructor(
    private readonly module: Pkcs11Module,
    private readonly options: TokenKeyOptions,
    first: { open: OpenKey; cert: X509Certificate },
  ) {
    this.open = first.open;
    this.first = first.open;
    this.cert = first.cert;
    this.chain = [first.cert.toString()];
  }

  /** Opens a session on the token, logs in and finds the key and its certificate. Synchronous: start-up only. */
  static open(options: TokenKeyOptions): Pkcs11Signer {
    const module = Pkcs11Module.open(options.module);
    const { open, cert } = openKey(module, module.direct(), options);
    return new Pkcs11Signer(module, options, { open, cert });
  }

  certificateChainPem(): string[] {
    return [...this.chain];
  }

  certificate(): X509Certificate {
    return this.cert;
  }

  /** The token the key was found on (label and serial) and the key's certificate. */
  identify(): { token: { label: string; serial: string }; cert: X509Certificate } {
    return { token: this.first.token, cert: this.cert };
  }

  /** The token holding the key, as the selector and the certificate name it (logs, status). */
  describe(): string {
    return `PKCS#11 token ${this.options.token.label ?? this.options.token.serial ?? ''} key "${this.options.keyLabel}" (${this.options.module})`;
  }

  async sign(data: Buffer, algorithm: SignatureAlgorithmName): Promise<Buffer> {
    return this.module.run(async (lib) => {
      try {
        return await this.signOnce(lib, data, algorithm);
      } catch (err) {
        if (!isSessionGone(err) || this.closed) throw tokenError(err, `signing with ${this.describe()}`);
        this.forget(lib);
        try {
          return await this.signOnce(lib, data, algorithm);
        } catch (again) {
          this.forget(lib);
          throw tokenError(again, `signing with ${this.describe()} after reopening the session`);
        }
      }
    });
  }

  /** Whether the token is still in its slot with the key (a card pulled out, a token reset: false). */
  isPresent(): Promise<boolean> {
    return this.module.run((lib) => {
      const open = this.open;
      if (!open || this.closed) return false;
      try {
        this.checkStillThere(lib, open);
        return findObjects(lib, open.session, [{ type: pkcs11js().CKA_CLASS, value: pkcs11js().CKO_PRIVATE_KEY }, { type: pkcs11js().CKA_LABEL, value: this.options.keyLabel }], 1).length === 1;
      } catch {
        return false;
      }
    });
  }

  /** Logs out and closes the session (card removed, box stopping). */
  close(): Promise<void> {
    this.closed = true;
    return this.module.run((lib) => this.forget(lib));
  }

  private async signOnce(lib: Pkcs11, data: Buffer, algorithm: SignatureAlgorithmName): Promise<Buffer> {
    if (this.closed) throw new TokenError(`${this.describe()}: the session was closed (card removed or box stopping)`, 'token-removed');
    if (!this.open || this.open.epoch !== this.module.epoch) this.open = this.reopen(lib);
    const { session, key } = this.open;
    this.checkStillThere(lib, this.open);
    lib.C_SignInit(session, { mechanism: mechanism(algorithm) }, key);
    // 512 bytes: an RSA signature up to 4096 bits; pkcs11js returns the slice the token wrote.
    return lib.C_SignAsync(session, data, Buffer.alloc(512));
  }

  /**
   * The token in the slot is still the one the session was opened on. Real modules invalidate sessions when the
   * card goes; some (SoftHSM2) keep stale handles that then point at other objects: asking costs one call.
   */
  private checkStillThere(lib: Pkcs11, open: OpenKey): void {
    let serial: string | undefined;
    try {
      serial = text(lib.C_GetTokenInfo(open.slot).serialNumber);
    } catch {
      serial = undefined;
    }
    if (serial !== open.token.serial) throw new TokenGone(`token "${open.token.label}" (${open.token.serial}) is no longer in its slot`);
  }

  /** A new session on the token; a module that no longer sees it is re-initialised once (SoftHSM2 needs that). */
  private reopen(lib: Pkcs11): OpenKey {
    try {
      return openKey(this.module, lib, this.options, this.cert).open;
    } catch (err) {
      if (!(err instanceof TokenError && err.kind === 'token-removed') || !this.module.reinitializeIfIdle()) throw err;
      return openKey(this.module, lib, this.options, this.cert).open;
    }
  }

  private forget(lib: Pkcs11): void {
    const open = this.open;
    this.open = undefined;
    if (!open) return;
    this.module.sessionClosed();
    try {
      lib.C_CloseSession(open.session);
    } catch {
      // already gone with the card
    }
  }
}

function openKey(module: Pkcs11Module, lib: Pkcs11, options: TokenKeyOptions, expected?: X509Certificate): { open: OpenKey; cert: X509Certificate } {
  const where = `PKCS#11 key "${options.keyLabel}" in ${options.module}`;
  const token = selectToken(listTokens(lib), options.token, where);
  let session: Handle;
  try {
    session = lib.C_OpenSession(token.slot, pkcs11js().CKF_SERIAL_SESSION);
  } catch (err) {
    throw tokenError(err, `${where}: cannot open a session on token "${token.label}"`);
  }
  module.sessionOpened();
  try {
    if (options.freshLogin) {
      try {
        lib.C_Logout(session);
      } catch {
        // CKR_USER_NOT_LOGGED_IN: nothing to undo
      }
    }
    if (token.loginRequired) login(lib, session, token.slot, options.pin(), `${where}: login to token "${token.label}"`);
    const keys = findObjects(lib, session, [
      { type: pkcs11js().CKA_CLASS, value: pkcs11js().CKO_PRIVATE_KEY },
      { type: pkcs11js().CKA_LABEL, value: options.keyLabel },
    ], 2);
    if (keys.length !== 1) throw new TokenError(`${where}: ${keys.length === 0 ? 'no private key' : 'several private keys'} with this label on token "${token.label}"`, 'not-found');
    const key = keys[0]!;
    const [id] = lib.C_GetAttributeValue(session, key, [{ type: pkcs11js().CKA_ID }]);
    const keyId = ((id?.value as Buffer | undefined) ?? Buffer.alloc(0)).toString('hex');
    const cert = token.certificates.find((c) => c.id === keyId)?.certificate;
    if (!cert) throw new TokenError(`${where}: no certificate with the key's CKA_ID ${keyId || '(empty)'} on token "${token.label}"`, 'not-found');
    if (cert.publicKey.asymmetricKeyType !== 'rsa') throw new TokenError(`${where}: the key is ${cert.publicKey.asymmetricKeyType}; the DMP signatures need RSA`, 'mechanism-unsupported');
    if (expected && !samePublicKey(expected, cert)) throw new TokenError(`${where}: another card or token is now in the reader`, 'token-removed');
    return { open: { token: { label: token.label, serial: token.serial }, slot: token.slot, session, key, epoch: module.epoch }, cert };
  } catch (err) {
    module.sessionClosed();
    try {
      lib.C_CloseSession(session);
    } catch {
      // nothing more to release
    }
    throw tokenError(err, where);
  }
}

/** C_Login, refusing before a try is spent when the token says the PIN is locked. */
export function login(lib: Pkcs11, session: Handle, slot: Handle, pin: string | undefined, doing: string): void {
  const before = tokenPinTries(lib, slot);
  if (before === 'locked') throw tokenError({ code: 0xa4, message: 'CKR_PIN_LOCKED' }, doing);
  if (pin === undefined || pin === '') throw new TokenError(`${doing}: the PIN is needed (not configured, or the card was removed since it was typed)`, 'not-logged-in', before);
  try {
    lib.C_Login(session, pkcs11js().CKU_USER, pin);
  } catch (err) {
    if ((err as { code?: number }).code === pkcs11js().CKR_USER_ALREADY_LOGGED_IN) return;
    throw tokenError(err, doing, tokenPinTries(lib, slot));
  }
}

function samePublicKey(a: X509Certificate, b: X509Certificate): boolean {
  const der = (c: X509Certificate) => c.publicKey.export({ type: 'spki', format: 'der' });
  return der(a).equals(der(b));
}
