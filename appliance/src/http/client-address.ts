import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import { AddressList, normaliseAddress } from '../auth/address-list.js';

/**
 * The caller's address: the TCP peer. `X-Forwarded-For` is believed only when the peer is a configured
 * trusted proxy (http.trustedProxies), and then its right-most address that is not itself a trusted proxy.
 */
export function clientAddressResolver(trustedProxies: readonly string[]): (c: Context) => string {
  const proxies = new AddressList(trustedProxies, 'http.trustedProxies');
  return (c) => {
    let peer: string;
    try {
      peer = normaliseAddress(getConnInfo(c).remote.address ?? 'unknown');
    } catch {
      return 'unknown'; // app.request() in tests: no socket
    }
    if (proxies.empty || !proxies.has(peer)) return peer;
    const chain = (c.req.header('x-forwarded-for') ?? '').split(',').map((s) => normaliseAddress(s.trim())).filter(Boolean);
    for (let i = chain.length - 1; i >= 0; i--) if (!proxies.has(chain[i]!)) return chain[i]!;
    return peer;
  };
}
