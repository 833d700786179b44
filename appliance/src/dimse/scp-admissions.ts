import { log } from '../log/logger.js';
import { normaliseAddress } from '../auth/address-list.js';
import type { MoveRouter } from './move-router.js';

/** A peer let in for a while besides the configured ones: the setup wizard's test of a draft PACS or box AE title. */
export interface TemporaryAdmission {
  callingAeTitle: string;
  /** Where the peer connects from. */
  addresses: string[];
  /** The AE title the peer calls the box by (the draft's, which may not be the running one). */
  calledAeTitle: string;
  /** Lifetime, at most MAX_ADMISSION_MS: revoked then even if nobody calls the returned function. */
  ttlMs: number;
}

export type RefusalReason = 'address-not-allowed' | 'too-many-associations' | 'called-ae-not-recognised' | 'calling-ae-not-recognised';

export interface RefusedAssociation {
  at: Date;
  address: string;
  /** Absent when the connection was closed before the association request was read. */
  callingAeTitle?: string;
  calledAeTitle?: string;
  reason: RefusalReason;
}

export const MAX_ADMISSION_MS = 15 * 60_000;

interface LiveAdmission {
  callingAeTitle: string;
  calledAeTitle: string;
  addresses: Set<string>;
  expiresAt: number;
  revoke(): void;
}

export interface ScpAdmissionsOptions {
  aeTitle: string;
  allowedCallingAeTitles: string[];
  /** Peer addresses allowed to connect at all; undefined: any address. */
  allowedAddresses?: { has(address: string): boolean };
}

/**
 * Who may associate with the box's SCP: the configured peers (calling AE titles, addresses), and peers let in for a
 * while (the setup wizard's tests), routed as C-MOVE sources under the draft's AE title. Keeps the last refusal.
 */
export class ScpAdmissions {
  private readonly allowed: Set<string>;
  private readonly admissions = new Set<LiveAdmission>();
  private refusal?: RefusedAssociation;

  constructor(
    private readonly options: ScpAdmissionsOptions,
    private readonly router: Pick<MoveRouter, 'alsoKnownAs'>,
  ) {
    this.allowed = new Set(options.allowedCallingAeTitles.map((ae) => ae.trim()));
  }

  /** Whether a connection from `address` may be read at all: a configured address, or one a live admission names. */
  mayConnect(address: string): boolean {
    return !this.options.allowedAddresses || this.options.allowedAddresses.has(address) || this.live().some((a) => a.addresses.has(address));
  }

  /** Whether an association request is let in: by the configuration, by a temporary admission, or refused (and why). */
  decide(address: string, calling: string, called: string): 'configured' | 'admitted' | RefusalReason {
    const { aeTitle, allowedAddresses } = this.options;
    if (called === aeTitle && this.allowed.has(calling) && (!allowedAddresses || allowedAddresses.has(address))) return 'configured';
    const forCalled = this.live().filter((a) => a.calledAeTitle === called);
    if (forCalled.some((a) => a.callingAeTitle === calling && a.addresses.has(address))) return 'admitted';
    if (called !== aeTitle && forCalled.length === 0) return 'called-ae-not-recognised';
    const callingKnown = (called === aeTitle && this.allowed.has(calling)) || forCalled.some((a) => a.callingAeTitle === calling);
    return callingKnown ? 'address-not-allowed' : 'calling-ae-not-recognised';
  }

  /** Lets one more peer associate until revoked or ttlMs elapses. Returns the revoke function. */
  admit(admission: TemporaryAdmission): () => void {
    if (!Number.isFinite(admission.ttlMs) || admission.ttlMs <= 0 || admission.ttlMs > MAX_ADMISSION_MS) {
      throw new RangeError(`a temporary admission lasts 1 ms to ${MAX_ADMISSION_MS} ms, not ${admission.ttlMs}`);
    }
    const unalias = this.router.alsoKnownAs(admission.calledAeTitle.trim());
    const live: LiveAdmission = {
      callingAeTitle: admission.callingAeTitle.trim(),
      calledAeTitle: admission.calledAeTitle.trim(),
      addresses: new Set(admission.addresses.map(normaliseAddress)),
      expiresAt: Date.now() + admission.ttlMs,
      revoke: () => {
        clearTimeout(timer);
        if (!this.admissions.delete(live)) return;
        unalias();
        log.info('DICOM SCP: temporary admission ended', { callingAeTitle: live.callingAeTitle, calledAeTitle: live.calledAeTitle });
      },
    };
    const timer = setTimeout(live.revoke, admission.ttlMs);
    timer.unref();
    this.admissions.add(live);
    log.info('DICOM SCP: peer admitted temporarily', { callingAeTitle: live.callingAeTitle, calledAeTitle: live.calledAeTitle, addresses: [...live.addresses], ttlMs: admission.ttlMs });
    return live.revoke;
  }

  refused(refusal: Omit<RefusedAssociation, 'at'>): void {
    this.refusal = { at: new Date(), ...refusal };
  }

  /** The last connection or association refused, and why. */
  lastRefusal(): RefusedAssociation | undefined {
    return this.refusal;
  }

  /** Every temporary admission ends (the SCP closes). */
  revokeAll(): void {
    for (const admission of [...this.admissions]) admission.revoke();
  }

  private live(): LiveAdmission[] {
    const now = Date.now();
    return [...this.admissions].filter((a) => a.expiresAt > now);
  }
}
