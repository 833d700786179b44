import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { networkFacts, parseResolvConf } from '../../appliance/src/setup/probes/network-facts.js';

// The wizard's network page shows this machine's own facts: they are checked here against what the OS says.

describe('networkFacts', () => {
  it('reports this machine: hostname, addresses with prefix, DNS servers, clock', async () => {
    const before = Date.now();
    const facts = await networkFacts();
    const after = Date.now();
    expect(facts.hostname).toBe(hostname());

    const expected = Object.entries(networkInterfaces()).flatMap(([name, list]) =>
      (list ?? []).filter((a) => !a.internal).map((a) => `${name} ${a.address}/${a.cidr?.split('/')[1]}`),
    );
    const reported = facts.interfaces.flatMap((i) => i.addresses.map((a) => `${i.name} ${a.address}/${a.prefix}`));
    expect(reported.sort()).toEqual(expected.sort());
    expect(facts.interfaces.some((i) => i.name === 'lo')).toBe(false);

    if (existsSync('/etc/resolv.conf')) {
      const servers = readFileSync('/etc/resolv.conf', 'utf8').match(/^\s*nameserver\s+\S+/gm)?.map((l) => l.trim().split(/\s+/)[1]) ?? [];
      expect(facts.dnsServers).toEqual(servers);
    } else {
      expect(facts.dnsServers).toBe('unknown');
    }

    const now = Date.parse(facts.clock.now);
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(after);
    expect(facts.clock.timezone).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
    expect([true, false, 'unknown']).toContain(facts.clock.ntpSynchronized);
    // Without systemd (a container), no synchronisation state can be read: it must say so, not guess.
    if (!existsSync('/run/systemd/system') && !existsSync('/run/systemd/timesync')) expect(facts.clock.ntpSynchronized).toBe('unknown');
    expect(facts.defaultGateway).toBe(ipv4DefaultGateway() ?? facts.defaultGateway);
    if (ipv4DefaultGateway()) expect(facts.interfaces.find((i) => i.isDefault === true)?.up).toBe(true);
  });

  it('reads nameserver lines only, in order', () => {
    expect(parseResolvConf('# generated\nsearch lan\nnameserver 192.168.1.1\n  nameserver fd00::1 \noptions ndots:1\n#nameserver 9.9.9.9\n')).toEqual(['192.168.1.1', 'fd00::1']);
  });
});

/** The IPv4 default route's gateway from the kernel's table (/proc/net/route: little-endian hex), if any. */
function ipv4DefaultGateway(): string | undefined {
  if (!existsSync('/proc/net/route')) return undefined;
  const line = readFileSync('/proc/net/route', 'utf8').split('\n').slice(1).map((l) => l.trim().split(/\s+/)).find((f) => f[1] === '00000000' && f[2] !== '00000000');
  if (!line) return undefined;
  const hex = line[2]!;
  return [6, 4, 2, 0].map((i) => parseInt(hex.slice(i, i + 2), 16)).join('.');
}
