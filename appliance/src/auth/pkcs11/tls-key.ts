import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createSecureContext, type SecureContext } from 'node:tls';
import { join } from 'node:path';
import { TokenError } from './errors.js';
import { Pkcs11Signer } from './signer.js';
import type { TokenSelector } from './tokens.js';

/**
 * TLS client authentication with a key that never leaves the token. Node has no signing callback in its TLS
 * stack; what it has is OpenSSL's ENGINE interface in the secure-context options (`privateKeyEngine`,
 * `privateKeyIdentifier`). Debian's libengine-pkcs11-openssl (OpenSC's libp11) is such an engine: given a
 * PKCS#11 URI (RFC 7512) it signs the handshake on the token. Measured here on Node 20 (system) and Node 22 (the
 * box's, from the npm registry), both with their bundled OpenSSL 3: the handshake completes with the key on
 * SoftHSM2. The engine takes its module from PKCS11_MODULE_PATH (else p11-kit's proxy): one module per process.
 * Measured too: a second secure context loading the engine by path fails ("engine routines::init failed"), so
 * the box makes one context per key and CA set and reuses it for every connection (engineSecureContext).
 */
export interface TokenTlsKeyOptions {
  module: string;
  token: TokenSelector;
  keyLabel: string;
  pin: string;
  /** The engine's shared object; empty: Debian's path for this machine's architecture. */
  engine?: string;
}

export interface TokenTlsCredential {
  privateKeyEngine: string;
  privateKeyIdentifier: string;
  /** The certificate paired with the key (PEM), read from the token. */
  cert: string;
}

const ENGINE_DIRS = ['/usr/lib/x86_64-linux-gnu/engines-3', '/usr/lib/aarch64-linux-gnu/engines-3', '/usr/lib/arm-linux-gnueabihf/engines-3', '/usr/lib/engines-3'];

export function findPkcs11Engine(): string | undefined {
  for (const dir of ENGINE_DIRS) {
    const path = join(dir, 'pkcs11.so');
    if (existsSync(path)) return path;
  }
  return undefined;
}

/** RFC 7512 percent-encoding of a path attribute value (everything outside unreserved and a few safe characters). */
function pct(value: string): string {
  return [...Buffer.from(value, 'utf8')].map((b) => (/[A-Za-z0-9\-._~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0').toUpperCase()}`)).join('');
}

export function pkcs11Uri(token: { label?: string; serial?: string }, keyLabel: string, pin: string): string {
  const path = [token.label && `token=${pct(token.label)}`, token.serial && `serial=${pct(token.serial)}`, `object=${pct(keyLabel)}`, 'type=private'].filter(Boolean).join(';');
  return `pkcs11:${path}?pin-value=${pct(pin)}`;
}

/** The secure-context options of a TLS client whose key stays on the token (the PIN is in memory only). */
export function tokenTlsCredential(options: TokenTlsKeyOptions): TokenTlsCredential {
  const engine = options.engine || findPkcs11Engine();
  if (!engine || !existsSync(engine)) {
    throw new TokenError(`TLS with a token key needs OpenSSL's PKCS#11 engine (Debian package libengine-pkcs11-openssl); not found${engine ? ` at ${engine}` : ` in ${ENGINE_DIRS.join(', ')}`}`, 'module');
  }
  const current = process.env.PKCS11_MODULE_PATH;
  if (current && current !== options.module) {
    throw new TokenError(`TLS keys on two PKCS#11 modules (${current}, ${options.module}): the OpenSSL engine takes one module per process`, 'module');
  }
  process.env.PKCS11_MODULE_PATH = options.module;
  // The certificate comes from the token itself, paired with the key by CKA_ID (the PIN is needed to read the
  // private key's CKA_ID): never a stale copy on disk.
  const probe = Pkcs11Signer.open({ module: options.module, token: options.token, keyLabel: options.keyLabel, pin: () => options.pin });
  const { token, cert } = probe.identify();
  void probe.close();
  return { privateKeyEngine: engine, privateKeyIdentifier: pkcs11Uri(token, options.keyLabel, options.pin), cert: cert.toString() };
}

const contexts = new Map<string, SecureContext>();

/**
 * The one TLS client context of a token key: made at the first call, then reused (OpenSSL's dynamic engine loads
 * once per process). The CAs the server must chain to are part of the context.
 */
export function engineSecureContext(credential: TokenTlsCredential, options: { ca: string | Buffer; minVersion: 'TLSv1.2' | 'TLSv1.3' }): SecureContext {
  const key = createHash('sha256').update(JSON.stringify([credential.privateKeyEngine, credential.privateKeyIdentifier, credential.cert, options.ca.toString(), options.minVersion])).digest('hex');
  const known = contexts.get(key);
  if (known) return known;
  try {
    const context = createSecureContext({ ...credential, ca: options.ca, minVersion: options.minVersion });
    contexts.set(key, context);
    return context;
  } catch (err) {
    const again = contexts.size > 0 ? ' (a token key is already in use in this process with other settings: OpenSSL loads its engine once)' : '';
    throw new TokenError(`TLS key on the token: OpenSSL's PKCS#11 engine could not load it: ${(err as Error).message}${again}`, 'module', undefined, { cause: err });
  }
}
