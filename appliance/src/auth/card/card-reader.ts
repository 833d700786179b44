import type { Logger } from '../../log/logger.js';
import { holderOf } from '../pkcs11/card-info.js';
import { TokenError, type PinTries } from '../pkcs11/errors.js';
import type { CardHolder } from '../pkcs11/holder.js';
import { Pkcs11Module } from '../pkcs11/module.js';
import { Pkcs11Signer } from '../pkcs11/signer.js';
import { listTokens } from '../pkcs11/tokens.js';
import { PinGuard } from './pin-guard.js';

/** A card in the reader, as the touch screen shows it (no secret). */
export interface PresentCard {
  serial: string;
  label: string;
  /** Absent: not a CPS (no professional's certificate on it). */
  holder?: CardHolder;
  pinTries: PinTries;
  /** A holder is logged in with this card. */
  loggedIn: boolean;
  /** The box refuses PINs for this card for this long (ms) after too many wrong ones. */
  lockedForMs: number;
}

export interface CardReaderOptions {
  module: string;
  pollMs: number;
  maxPinFailures: number;
  pinLockMinutes: number;
}

export type CardLogin = { ok: true; serial: string; holder: CardHolder } | { ok: false; error: TokenError; card?: PresentCard };

/** CPS_PRIV_SIG: the card's signature key (cps-card-pkcs11.md §2.2); logging in with it proves the PIN and opens signing. */
const SIGNATURE_KEY = 'CPS_PRIV_SIG';

/**
 * The box's card reader: cards found by polling (C_WaitForSlotEvent is unreliable on these modules: §6), the PIN
 * checked on the card itself (never kept: the signer gets it once), the session closed when the card goes. Who
 * listens to `onRemoved` ends what the card opened (portal sessions).
 */
export class CardReader {
  private present = new Map<string, Omit<PresentCard, 'loggedIn' | 'lockedForMs'>>();
  private readonly sessions = new Map<string, { signer: Pkcs11Signer; holder: CardHolder }>();
  private readonly removedListeners: ((serial: string) => void)[] = [];
  private readonly guard: PinGuard;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;

  constructor(
    private readonly module: Pkcs11Module,
    private readonly options: CardReaderOptions,
    private readonly log: Logger,
    now: () => number = () => performance.now(),
  ) {
    this.guard = new PinGuard(options.maxPinFailures, options.pinLockMinutes * 60_000, now);
  }

  static open(options: CardReaderOptions, log: Logger): CardReader {
    return new CardReader(Pkcs11Module.open(options.module), options, log);
  }

  start(): void {
    void this.poll();
    this.timer = setInterval(() => void this.poll(), this.options.pollMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.polling;
    for (const serial of [...this.sessions.keys()]) await this.endSession(serial);
  }

  onRemoved(listener: (serial: string) => void): void {
    this.removedListeners.push(listener);
  }

  cards(): PresentCard[] {
    return [...this.present.values()].map((c) => ({ ...c, loggedIn: this.sessions.has(c.serial), lockedForMs: this.guard.lockedFor(c.serial) }));
  }

  /** One poll (overlapping calls share it): cards found, cards gone, logged-in cards still there. */
  poll(): Promise<void> {
    this.polling ??= this.pollOnce().finally(() => (this.polling = undefined));
    return this.polling;
  }

  /** Checks the PIN on the card and opens its session; wrong PINs are counted (PinGuard). */
  async login(serial: string, pin: string): Promise<CardLogin> {
    const card = this.cards().find((c) => c.serial === serial);
    if (!card) return { ok: false, error: new TokenError('the card was removed', 'token-removed') };
    if (!card.holder) return { ok: false, error: new TokenError('this card holds no health professional certificate (CPS)', 'not-found'), card };
    if (card.lockedForMs > 0) return { ok: false, error: new TokenError(`too many wrong PINs: the card is refused for ${Math.ceil(card.lockedForMs / 60_000)} min`, 'pin-attempts-exhausted'), card };
    if (!/^[0-9]{4,8}$/.test(pin)) return { ok: false, error: new TokenError('a CPS PIN is 4 to 8 digits', 'pin-format'), card };
    await this.endSession(serial);
    let once: string | undefined = pin;
    try {
      const signer = await this.module.run(() =>
        Pkcs11Signer.open({
          module: this.options.module,
          token: { serial },
          keyLabel: SIGNATURE_KEY,
          freshLogin: true,
          // Given once: after a removal the holder types it again; the box never keeps it.
          pin: () => {
            const p = once;
            once = undefined;
            return p;
          },
        }),
      );
      this.sessions.delete(serial);
      this.sessions.set(serial, { signer, holder: card.holder });
      this.guard.success(serial);
      this.log.info('card login', { serial, nationalId: card.holder.nationalId });
      return { ok: true, serial, holder: card.holder };
    } catch (err) {
      once = undefined;
      const error = err instanceof TokenError ? err : new TokenError((err as Error).message, 'other', undefined, { cause: err });
      // The card's own counter, as it answered: shown at once, not at the next poll.
      const known = this.present.get(serial);
      if (known && error.pinTries) this.present.set(serial, { ...known, pinTries: error.pinTries });
      if (error.kind === 'wrong-pin' && this.guard.failure(serial)) {
        this.log.warn('card refused after repeated wrong PINs', { serial, minutes: this.options.pinLockMinutes });
        return { ok: false, error: new TokenError(`too many wrong PINs: the card is refused for ${this.options.pinLockMinutes} min`, 'pin-attempts-exhausted', error.pinTries), card: this.cards().find((c) => c.serial === serial) };
      }
      this.log.warn('card login failed', { serial, kind: error.kind });
      return { ok: false, error, card: this.cards().find((c) => c.serial === serial) };
    }
  }

  /** The logged-in card's signer (signature in the holder's name), while the card is in. */
  signerFor(serial: string): Pkcs11Signer | undefined {
    return this.sessions.get(serial)?.signer;
  }

  /** The card logged in most recently, still in the reader: who signs in direct mode. */
  current(): { serial: string; holder: CardHolder; signer: Pkcs11Signer } | undefined {
    const last = [...this.sessions].at(-1);
    return last && { serial: last[0], ...last[1] };
  }

  /** Ends a card's session (logout button, removal). */
  async endSession(serial: string): Promise<void> {
    const session = this.sessions.get(serial);
    if (!session) return;
    this.sessions.delete(serial);
    await session.signer.close().catch(() => undefined);
  }

  private async pollOnce(): Promise<void> {
    try {
      const pulled = new Set<string>();
      for (const [serial, { signer }] of [...this.sessions]) {
        if (!(await signer.isPresent())) {
          pulled.add(serial);
          await this.removed(serial);
        }
      }
      const tokens = await this.module.run((lib) => {
        // Some modules (SoftHSM2) see cards come and go only after a fresh C_Initialize; never under a session.
        if (this.sessions.size === 0) this.module.reinitializeIfIdle();
        return listTokens(lib);
      });
      const next = new Map(
        tokens
          .filter((t) => !pulled.has(t.serial))
          .map((t) => {
            const holder = holderOf(t);
            return [t.serial, { serial: t.serial, label: t.label, pinTries: t.pinTries, ...(holder ? { holder } : {}) }];
          }),
      );
      for (const serial of this.present.keys()) if (!next.has(serial) && !this.sessions.has(serial)) this.emitRemoved(serial);
      for (const [serial, card] of next) if (!this.present.has(serial)) this.log.info('card inserted', { serial, label: card.label, holder: card.holder?.nationalId ?? 'not a CPS' });
      // A logged-in card the listing no longer shows was pulled out (its session probe may lag on some modules).
      for (const serial of [...this.sessions.keys()]) if (!next.has(serial)) await this.removed(serial);
      this.present = next;
    } catch (err) {
      this.log.warn('card reader poll failed', { error: err });
    }
  }

  private async removed(serial: string): Promise<void> {
    await this.endSession(serial);
    this.present.delete(serial);
    this.emitRemoved(serial);
  }

  private emitRemoved(serial: string): void {
    this.log.info('card removed', { serial });
    for (const listener of this.removedListeners) {
      try {
        listener(serial);
      } catch (err) {
        this.log.warn('card removal listener failed', { error: err });
      }
    }
  }
}
