import { createRequire } from 'node:module';
import { tokenError } from './errors.js';

type Pkcs11js = typeof import('pkcs11js');
export type Handle = Buffer;
export type Pkcs11 = InstanceType<Pkcs11js['PKCS11']>;

let binding: Pkcs11js | undefined;

/**
 * pkcs11js (a native addon) and its CK* constants, loaded at the first use: a box with no token or card
 * configured never maps it.
 */
export function pkcs11js(): Pkcs11js {
  binding ??= createRequire(import.meta.url)('pkcs11js') as Pkcs11js;
  return binding;
}

/**
 * One loaded PKCS#11 module (OpenSC's opensc-pkcs11.so, the ANS Cryptolib, SoftHSM2...). PKCS#11 allows one
 * C_Initialize per process and module, and a card does one exchange at a time: every caller shares this instance
 * and goes through `run`, which serialises calls (cps-card-pkcs11.md "Pitfalls").
 */
export class Pkcs11Module {
  private queue: Promise<unknown> = Promise.resolve();
  private openSessions = 0;
  private generation = 0;

  private constructor(
    readonly path: string,
    private readonly lib: Pkcs11,
  ) {}

  /** Loads and initialises the module at `path`, once per process (later calls get the same instance). */
  static open(path: string): Pkcs11Module {
    const known = loaded.get(path);
    if (known) return known;
    const lib = new (pkcs11js().PKCS11)();
    try {
      lib.load(path);
    } catch (err) {
      throw tokenError(err, `cannot load the PKCS#11 module ${path} (installed? right architecture?)`);
    }
    try {
      lib.C_Initialize({ flags: pkcs11js().CKF_OS_LOCKING_OK });
    } catch (err) {
      throw tokenError(err, `the PKCS#11 module ${path} refused to initialise`);
    }
    const module = new Pkcs11Module(path, lib);
    loaded.set(path, module);
    return module;
  }

  /** Runs `fn` alone on the module: calls from all callers are never interleaved. */
  run<T>(fn: (lib: Pkcs11) => T | Promise<T>): Promise<T> {
    const next = this.queue.then(() => fn(this.lib));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** The module's library for calls that must be synchronous (session set-up at start); not while `run` is busy. */
  direct(): Pkcs11 {
    return this.lib;
  }

  /** Bumped at each re-initialisation: handles taken before it are void. */
  get epoch(): number {
    return this.generation;
  }

  sessionOpened(): void {
    this.openSessions++;
  }

  sessionClosed(): void {
    this.openSessions = Math.max(0, this.openSessions - 1);
  }

  /**
   * Finalises and re-initialises the module when nobody holds a session on it: some modules (SoftHSM2) only see
   * tokens that appeared or vanished after a fresh C_Initialize. Returns false when sessions are open.
   */
  reinitializeIfIdle(): boolean {
    // OpenSSL's PKCS#11 engine (TLS keys) loads this same library in this process: finalising it would end its
    // sessions under it.
    if (this.openSessions > 0 || process.env.PKCS11_MODULE_PATH === this.path) return false;
    try {
      this.lib.C_Finalize();
    } catch {
      // already finalised: initialise again below
    }
    this.lib.C_Initialize({ flags: pkcs11js().CKF_OS_LOCKING_OK });
    this.generation++;
    return true;
  }

  /** Finalises the module and forgets it (process stop). */
  close(): void {
    loaded.delete(this.path);
    try {
      this.lib.C_Finalize();
      this.lib.close();
    } catch {
      // best effort at stop
    }
  }
}

const loaded = new Map<string, Pkcs11Module>();

/** A PKCS#11 text field (blank-padded, UTF-8) as a string. */
export function text(field: string): string {
  return field.replace(/[\s\0]+$/, '');
}
