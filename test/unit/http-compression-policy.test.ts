import { describe, expect, it } from 'vitest';
import { compressImagesFor, isPrivateAddress } from '../../appliance/src/http/compression-policy.js';

describe('image compression policy', () => {
  it('knows the private networks, IPv4-mapped IPv6 and zone ids included', () => {
    for (const a of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.20', '169.254.3.4', '100.64.0.1', '::1', 'fd12::1', 'fe80::1%eth0', '::ffff:192.168.0.2']) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of ['203.0.113.9', '172.32.0.1', '8.8.8.8', '2001:db8::1', '::ffff:8.8.8.8', 'not-an-address', '']) expect(isPrivateAddress(a), a).toBe(false);
  });

  it('wan: only callers outside the private networks; always and never as they say', () => {
    expect(compressImagesFor('wan', '203.0.113.9')).toBe(true);
    expect(compressImagesFor('wan', '192.168.1.20')).toBe(false);
    expect(compressImagesFor('wan', undefined)).toBe(false);
    expect(compressImagesFor('always', '127.0.0.1')).toBe(true);
    expect(compressImagesFor('never', '203.0.113.9')).toBe(false);
  });
});
