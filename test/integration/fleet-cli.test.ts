import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startBalenaApiFake, type BalenaApiFake, type FakeDevice } from '../peers/balena-api-fake.js';

// The vendor's fleet tool, run as the vendor runs it, against a local fake of the balena API that answers the
// requests balena-sdk makes — and records any it does not know, which fails the suite.
const CLI = join(import.meta.dirname, '../../bin/drimbox-fleet.js');
const FLEET = 'acme/drimbox-fr';
const OLD = 'a1'.repeat(20);
const NEW = 'b2'.repeat(20);
const BROKEN = 'c3'.repeat(20);
const OTHERS = 'd4'.repeat(20);
const WITHDRAWN = 'e5'.repeat(20);
let fake: BalenaApiFake;

function cli(args: string[], token?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, BALENA_API_URL: fake.url, BALENA_API_KEY: token ?? fake.token } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const day = (offsetDays: number) => new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
const uuid = (i: number) => i.toString(16).padStart(4, '0').repeat(8);

function seed(): void {
  fake.applications.splice(0, Infinity, { id: 1, slug: FLEET, uuid: 'f'.repeat(32), should_be_running__release: 11, should_track_latest_release: true }, { id: 2, slug: 'other/fleet', uuid: 'e'.repeat(32), should_be_running__release: null, should_track_latest_release: true });
  fake.releases.splice(0, Infinity,
    { id: 11, commit: OLD, status: 'success', belongs_to__application: 1 },
    { id: 12, commit: NEW, status: 'success', belongs_to__application: 1 },
    { id: 13, commit: BROKEN, status: 'failed', belongs_to__application: 1 },
    { id: 14, commit: OTHERS, status: 'success', belongs_to__application: 2 },
    { id: 15, commit: WITHDRAWN, status: 'success', belongs_to__application: 1, is_invalidated: true },
  );
  const healthy = { 'drimbox.health': 'ok', 'drimbox.queue': '0', 'drimbox.dead': '0', 'drimbox.lastPublication': day(0), 'drimbox.certExpiry': day(400), 'drimbox.diskFreeMb': '12000', 'drimbox.version': '0.1.0' };
  const devices: FakeDevice[] = [];
  for (let i = 0; i < 20; i++) {
    devices.push({ id: 100 + i, uuid: uuid(i), device_name: `cabinet-${String(i).padStart(2, '0')}`, overall_status: 'operational', is_online: true, belongs_to__application: 1, is_running__release: 11, is_pinned_on__release: null, device_type: 1, tags: { ...healthy }, env: {} });
  }
  devices[3]!.tags['drimbox.dead'] = '2';
  devices[4]!.tags['drimbox.certExpiry'] = day(10);
  devices[5]!.is_online = false;
  devices[5]!.overall_status = 'disconnected';
  devices[6]!.tags.ring = 'lab';
  devices[7]!.tags.ring = 'lab';
  devices[8]!.is_pinned_on__release = 11; // a lab box the vendor pinned by hand
  fake.devices.splice(0, Infinity, ...devices);
}

beforeAll(async () => {
  fake = await startBalenaApiFake();
});
beforeEach(() => seed());
afterAll(async () => {
  expect(fake.unknown).toEqual([]);
  await fake.stop();
});

describe('drimbox-fleet', () => {
  it('registers a box for a practice with its DRIMBOX_* variables, and refuses secrets and other variables', async () => {
    const ok = await cli(['register', '--fleet', FLEET, '--name', 'Imagerie de Saint-Pierre', '--env', 'DRIMBOX_PACS_HOST=10.1.2.3', '--env', 'DRIMBOX_PACS_AE_TITLE=PACS_SP']);
    expect(ok.code, ok.stderr).toBe(0);
    const box = fake.devices.find((d) => d.device_name === 'Imagerie de Saint-Pierre')!;
    expect(box.env).toEqual({ DRIMBOX_PACS_HOST: '10.1.2.3', DRIMBOX_PACS_AE_TITLE: 'PACS_SP' });
    expect(ok.stdout).toContain(box.uuid);
    const secret = await cli(['register', '--fleet', FLEET, '--name', 'X', '--env', 'DRIMBOX_PSC_CLIENT_SECRET=s3cret']);
    expect(secret.code).toBe(1);
    expect(secret.stderr).toMatch(/DRIMBOX_PSC_CLIENT_SECRET is a secret: it is entered on the box/);
    const password = await cli(['register', '--fleet', FLEET, '--name', 'X', '--env', 'DRIMBOX_XDS_TLS_P12_PASSWORD=p']);
    expect(password.stderr).toMatch(/DRIMBOX_XDS_TLS_P12_PASSWORD is a secret/);
    const other = await cli(['register', '--fleet', FLEET, '--name', 'X', '--env', 'PATH=/tmp']);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/--env takes DRIMBOX_KEY=VALUE/);
    expect(fake.devices.filter((d) => d.device_name === 'X')).toEqual([]);
  });

  it('lists the fleet with each box’s health from its tags, as a table and as JSON', async () => {
    const table = await cli(['list', '--fleet', FLEET]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+UUID\s+STATUS\s+RELEASE\s+HEALTH\s+QUEUE\s+DEAD/);
    expect(table.stdout).toMatch(/cabinet-03\s+0003000\s+operational\s+a1a1a1a\s+ok\s+0\s+2\s/);
    expect(table.stdout).toMatch(/cabinet-05\s+\S+\s+disconnected \(offline\)/);
    const json = await cli(['list', '--fleet', FLEET, '--json']);
    const boxes = JSON.parse(json.stdout) as { uuid: string; dead: number; certExpiry: string; release: string; online: boolean }[];
    expect(boxes).toHaveLength(20);
    expect(boxes.find((b) => b.uuid === uuid(3))).toMatchObject({ dead: 2, release: OLD, online: true });
    expect(boxes.find((b) => b.uuid === uuid(4))!.certExpiry).toBe(day(10));
  });

  it('finds the boxes that need the vendor: dead letters, a certificate expiring within N days, offline — not the healthy ones', async () => {
    const res = await cli(['attention', '--fleet', FLEET, '--cert-days', '30', '--json']);
    expect(res.code, res.stderr).toBe(0);
    const needing = JSON.parse(res.stdout) as { uuid: string; reasons: string[] }[];
    expect(needing.map((n) => n.uuid).sort()).toEqual([uuid(3), uuid(4), uuid(5)]);
    expect(needing.find((n) => n.uuid === uuid(3))!.reasons).toEqual(['2 DMP submission(s) abandoned (dead letters)']);
    expect(needing.find((n) => n.uuid === uuid(4))!.reasons[0]).toMatch(/^structure certificate expires on .* \(in (9|10) days\)$/);
    const shorter = JSON.parse((await cli(['attention', '--fleet', FLEET, '--cert-days', '5', '--json'])).stdout) as { uuid: string }[];
    expect(shorter.map((n) => n.uuid)).not.toContain(uuid(4));
  });

  it('stages a rollout by fraction: deterministic, monotone (10 % ⊂ 25 %), recorded on each device', async () => {
    const pinnedTo = (commit: number) => fake.devices.filter((d) => d.is_pinned_on__release === commit).map((d) => d.uuid).sort();
    expect((await cli(['pin', '--fleet', FLEET, '--release', NEW.slice(0, 7), '--fraction', '0.25'])).code).toBe(0);
    const quarter = pinnedTo(12);
    expect(quarter.length).toBeGreaterThan(0);
    expect(quarter.length).toBeLessThan(20);
    expect(fake.devices.filter((d) => quarter.includes(d.uuid)).every((d) => d.tags['drimbox.ring'] === '25% b2b2b2b')).toBe(true);
    seed();
    expect((await cli(['pin', '--fleet', FLEET, '--release', NEW, '--fraction', '0.25'])).code).toBe(0);
    expect(pinnedTo(12)).toEqual(quarter); // same devices every time
    seed();
    await cli(['pin', '--fleet', FLEET, '--release', NEW, '--fraction', '0.1']);
    const tenth = pinnedTo(12);
    expect(tenth.every((u) => quarter.includes(u))).toBe(true);
    await cli(['pin', '--fleet', FLEET, '--release', NEW, '--fraction', '0.25']);
    expect(pinnedTo(12)).toEqual(quarter); // widening adds devices, never reshuffles
  });

  it('pins exactly the devices of a tag; a dry run changes nothing', async () => {
    const writes = () => fake.requests.filter((r) => r.method !== 'GET').length;
    const before = writes();
    const dry = await cli(['pin', '--fleet', FLEET, '--release', NEW, '--tag', 'ring=lab', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/would pin 2 device\(s\)/);
    expect(fake.devices.some((d) => d.is_pinned_on__release === 12)).toBe(false);
    expect(writes()).toBe(before);
    expect((await cli(['pin', '--fleet', FLEET, '--release', NEW, '--tag', 'ring=lab'])).code).toBe(0);
    expect(fake.devices.filter((d) => d.is_pinned_on__release === 12).map((d) => d.device_name)).toEqual(['cabinet-06', 'cabinet-07']);
    expect(fake.devices.find((d) => d.device_name === 'cabinet-06')!.tags['drimbox.ring']).toBe('tag:ring=lab b2b2b2b');
  });

  it('refuses a release that does not exist, did not build, was invalidated, or is another fleet’s', async () => {
    for (const [release, message] of [
      ['0123456789abcdef', /release 0123456789abcdef: .*not found/i],
      [BROKEN, /did not build successfully \(status: failed\)/],
      [OTHERS, /belongs to other\/fleet, not to acme\/drimbox-fr/],
      [WITHDRAWN, /was invalidated/],
      ['latest', /is not a release commit/],
    ] as const) {
      const res = await cli(['pin', '--fleet', FLEET, '--release', release, '--devices', uuid(1)]);
      expect(res.code, release).toBe(1);
      expect(res.stderr).toMatch(message);
    }
    expect(fake.devices.some((d) => d.is_pinned_on__release !== null && d.is_pinned_on__release !== 11)).toBe(false);
  });

  it('rolls back: the chosen devices, or the whole fleet with every device pinned elsewhere; then back to tracking latest, the hand-pinned box left alone', async () => {
    await cli(['pin', '--fleet', FLEET, '--release', NEW, '--devices', `${uuid(1)},${uuid(2)}`]);
    expect(fake.devices.filter((d) => d.is_pinned_on__release === 12)).toHaveLength(2);
    expect((await cli(['rollback', '--fleet', FLEET, '--to', OLD, '--devices', uuid(1)])).code).toBe(0);
    expect(fake.devices.find((d) => d.uuid === uuid(1))!.is_pinned_on__release).toBe(11);
    const all = await cli(['rollback', '--fleet', FLEET, '--to', OLD, '--all']);
    expect(all.code, all.stderr).toBe(0);
    expect(fake.applications[0]).toMatchObject({ should_be_running__release: 11, should_track_latest_release: false });
    expect(fake.devices.find((d) => d.uuid === uuid(2))!.is_pinned_on__release).toBe(11);
    expect((await cli(['track-latest', '--fleet', FLEET])).code).toBe(0);
    expect(fake.applications[0]).toMatchObject({ should_be_running__release: 12, should_track_latest_release: true });
    expect(fake.devices.filter((d) => d.is_pinned_on__release !== null).map((d) => d.device_name)).toEqual(['cabinet-08']);
    expect(fake.devices.find((d) => d.uuid === uuid(1))!.tags['drimbox.ring']).toBe('latest');
  });

  it('says clearly when the token is refused, and when the command line is wrong', async () => {
    const refused = await cli(['list', '--fleet', FLEET], 'not-the-token');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^drimbox-fleet: the balena API refused the token \(BALENA_API_KEY\)/m);
    const noFleet = await cli(['list']);
    expect(noFleet.code).toBe(2);
    expect(noFleet.stderr).toMatch(/--fleet ORG\/FLEET is required/);
    const unknown = await cli(['deploy', '--fleet', FLEET]);
    expect(unknown.code).toBe(2);
    const badFlag = await cli(['pin', '--fleet', FLEET, '--releas', NEW]);
    expect(badFlag.code).toBe(2);
  });
});
