import { createHash, timingSafeEqual } from 'node:crypto';
import { AddressList } from '../address-list.js';

export type RisDecision = { ok: true } | { ok: false; status: 401 | 403; reason: string };

export interface RisCredentialOptions {
  httpToken: string;
  allowedAddresses: readonly string[];
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Who may post reports and read the source status over HTTP: the RIS, proven by its bearer token, from an
 * allowed address. A calling address alone is not authentication: without a token the HTTP intake is closed.
 */
export class RisCredential {
  private readonly token?: Buffer;
  private readonly addresses: AddressList;

  constructor(options: RisCredentialOptions) {
    this.token = options.httpToken ? digest(options.httpToken) : undefined;
    this.addresses = new AddressList(options.allowedAddresses, 'ris.allowedAddresses');
  }

  check(clientAddress: string, authorization: string | undefined): RisDecision {
    if (!this.addresses.empty && !this.addresses.has(clientAddress)) {
      return { ok: false, status: 403, reason: `address ${clientAddress} is not in ris.allowedAddresses` };
    }
    if (!this.token) return { ok: false, status: 403, reason: 'HTTP report intake is closed on this box: set ris.httpToken (or send reports over MLLP)' };
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    if (!presented) return { ok: false, status: 401, reason: 'the RIS token is missing (Authorization: Bearer …)' };
    // Compare digests: equal length whatever was presented, constant time.
    if (!timingSafeEqual(digest(presented), this.token)) return { ok: false, status: 401, reason: 'the RIS token is not valid' };
    return { ok: true };
  }
}
