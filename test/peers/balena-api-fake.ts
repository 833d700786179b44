/**
 * A local fake of the balena API for the vendor's fleet tool: it answers the requests balena-sdk 22 makes for
 * `drimbox-fleet` (pine/OData under /v7, /actor/v1/whoami, device registration) from an in-memory fleet, checks the
 * bearer token, and records every request — anything it does not know is answered 404 and listed in `unknown`, so
 * a test fails when the tool starts asking for something else. Never the real cloud.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeDevice {
  id: number;
  uuid: string;
  device_name: string;
  overall_status: string;
  is_online: boolean;
  belongs_to__application: number;
  is_running__release: number | null;
  is_pinned_on__release: number | null;
  device_type: number;
  tags: Record<string, string>;
  env: Record<string, string>;
}

export interface FakeRelease {
  id: number;
  commit: string;
  status: 'success' | 'failed' | 'running';
  belongs_to__application: number;
  is_invalidated?: boolean;
}

export interface FakeApplication {
  id: number;
  slug: string;
  uuid: string;
  should_be_running__release: number | null;
  should_track_latest_release: boolean;
}

export interface BalenaApiFake {
  url: string;
  token: string;
  applications: FakeApplication[];
  devices: FakeDevice[];
  releases: FakeRelease[];
  requests: { method: string; path: string; query: string; body: unknown }[];
  unknown: string[];
  stop(): Promise<void>;
}

interface Ctx {
  method: string;
  resource: string;
  key?: string;
  params: URLSearchParams;
  filter: string;
  body: Record<string, unknown>;
}

const quoted = (s: string, re: RegExp) => re.exec(s)?.[1];

export async function startBalenaApiFake(token = 'vendor-token'): Promise<BalenaApiFake> {
  const fake = {
    token,
    applications: [] as FakeApplication[],
    devices: [] as FakeDevice[],
    releases: [] as FakeRelease[],
    requests: [] as BalenaApiFake['requests'],
    unknown: [] as string[],
  };
  let nextId = 1000;
  const provisioningKeys = new Set<string>();

  const appByFilter = (f: string) => {
    const slug = quoted(f, /slug eq '([^']+)'/);
    const id = quoted(f, /\bid eq (\d+)/);
    return fake.applications.filter((a) => (slug !== undefined && a.slug.toLowerCase() === slug.toLowerCase()) || (id !== undefined && a.id === Number(id)));
  };
  /** The conditions of a device filter, all of which must hold (an `and` of what the SDK sends). */
  const devicesByFilter = (f: string) => {
    const conditions: ((d: FakeDevice) => boolean)[] = [];
    const app = quoted(f, /belongs_to__application eq (\d+)/);
    if (app !== undefined) conditions.push((d) => d.belongs_to__application === Number(app));
    const uuids = [...f.matchAll(/uuid eq '([0-9a-f]+)'|startswith\(uuid,'([0-9a-f]+)'\)/g)].map((m) => (m[1] ?? m[2])!);
    if (uuids.length) conditions.push((d) => uuids.some((u) => d.uuid.startsWith(u)));
    const uuidIn = quoted(f, /uuid in \(([^)]*)\)/)?.split(',').map((u) => u.trim().replace(/'/g, ''));
    if (uuidIn) conditions.push((d) => uuidIn.includes(d.uuid));
    const ids = [...f.matchAll(/\bid eq (\d+)/g)].map((m) => Number(m[1]));
    if (ids.length) conditions.push((d) => ids.includes(d.id));
    const idIn = quoted(f, /\bid in \(([^)]*)\)/)?.split(',').map((n) => Number(n.trim()));
    if (idIn) conditions.push((d) => idIn.includes(d.id));
    if (conditions.length === 0) {
      fake.unknown.push(`device filter not understood: ${f}`);
      return [];
    }
    return fake.devices.filter((d) => conditions.every((c) => c(d)));
  };
  const commitOf = (id: number | null) => fake.releases.find((r) => r.id === id);
  const deviceJson = (d: FakeDevice) => ({
    id: d.id,
    uuid: d.uuid,
    belongs_to__application: { __id: d.belongs_to__application },
    device_name: d.device_name,
    overall_status: d.overall_status,
    is_online: d.is_online,
    device_tag: Object.entries(d.tags).map(([tag_key, value]) => ({ tag_key, value })),
    is_running__release: d.is_running__release ? [{ commit: commitOf(d.is_running__release)!.commit }] : [],
    is_pinned_on__release: d.is_pinned_on__release ? [{ commit: commitOf(d.is_pinned_on__release)!.commit }] : [],
  });

  const routes: ((c: Ctx, res: ServerResponse) => boolean)[] = [
    (c, res) => {
      if (c.method !== 'GET' || c.resource !== 'application') return false;
      const expand = c.params.get('$expand') ?? '';
      const latest = (a: FakeApplication) => fake.releases.filter((r) => r.belongs_to__application === a.id && r.status === 'success' && !r.is_invalidated).at(-1);
      send(res, 200, {
        d: appByFilter(c.filter).map((a) => ({
          id: a.id,
          slug: a.slug,
          uuid: a.uuid,
          ...(expand.includes('owns__release') ? { owns__release: latest(a) ? [{ id: latest(a)!.id }] : [] } : {}),
          ...(expand.includes('is_for__device_type') ? { is_for__device_type: [{ slug: 'raspberrypi4-64', is_of__cpu_architecture: [{ slug: 'aarch64' }] }] } : {}),
        })),
      });
      return true;
    },
    (c, res) => {
      if (c.method !== 'GET' || c.resource !== 'device') return false;
      const byKey = c.key && quoted(c.key, /^uuid='([0-9a-f]+)'$/);
      send(res, 200, { d: (c.key ? fake.devices.filter((d) => d.uuid === byKey || String(d.id) === c.key) : devicesByFilter(c.filter)).map(deviceJson) });
      return true;
    },
    (c, res) => {
      if (c.method !== 'GET' || c.resource !== 'release') return false;
      const prefix = quoted(c.filter, /startswith\(commit,'([0-9a-f]+)'\)/) ?? quoted(c.filter, /commit eq '([0-9a-f]+)'/);
      const app = quoted(c.filter, /belongs_to__application eq (\d+)/);
      const status = quoted(c.filter, /status eq '([a-z]+)'/);
      const rel = fake.releases.filter(
        (r) => prefix !== undefined && r.commit.startsWith(prefix) && (app === undefined || r.belongs_to__application === Number(app)) && (status === undefined || r.status === status),
      );
      const expand = c.params.get('$expand') ?? '';
      send(res, 200, {
        d: rel.map((r) => ({ id: r.id, commit: r.commit, status: r.status, is_invalidated: r.is_invalidated ?? false, ...(expand.includes('belongs_to__application') ? { belongs_to__application: [{ slug: fake.applications.find((a) => a.id === r.belongs_to__application)?.slug }] } : {}) })),
      });
      return true;
    },
    (c, res) => {
      if (c.method !== 'PATCH' || c.resource !== 'device') return false;
      const targets = devicesByFilter(c.filter);
      if (targets.length === 0) return false;
      for (const d of targets) {
        if ('is_pinned_on__release' in c.body) d.is_pinned_on__release = (c.body.is_pinned_on__release as number | null) ?? null;
        if (typeof c.body.device_name === 'string') d.device_name = c.body.device_name;
      }
      res.writeHead(200).end('OK');
      return true;
    },
    (c, res) => {
      if (c.method !== 'PATCH' || c.resource !== 'application') return false;
      const targets = c.key !== undefined ? fake.applications.filter((a) => a.id === Number(c.key)) : appByFilter(c.filter);
      if (targets.length === 0) return false;
      for (const a of targets) {
        if ('should_be_running__release' in c.body) a.should_be_running__release = (c.body.should_be_running__release as number | null) ?? null;
        if ('should_track_latest_release' in c.body) a.should_track_latest_release = c.body.should_track_latest_release === true;
      }
      res.writeHead(200).end('OK');
      return true;
    },
    (c, res) => {
      if (c.method !== 'POST' || (c.resource !== 'device_tag' && c.resource !== 'device_environment_variable')) return false;
      const device = fake.devices.find((d) => d.id === Number(c.body.device));
      const key = String(c.body.tag_key ?? c.body.name ?? '');
      if (!device || !key || typeof c.body.value !== 'string') return send(res, 400, 'device, key and value needed'), true;
      (c.resource === 'device_tag' ? device.tags : device.env)[key] = c.body.value;
      send(res, 201, { id: nextId++, ...c.body });
      return true;
    },
  ];

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://api');
      const text = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, unknown> = {};
      try {
        body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        // a body that is not JSON matches no route
      }
      fake.requests.push({ method: req.method ?? '', path: url.pathname, query: decodeURIComponent(url.search), body });
      // Registration is the one call made with a provisioning key (issued just before), not the vendor's token.
      if (url.pathname === '/device/register' && req.method === 'POST') {
        const key = req.headers.authorization?.replace(/^Bearer /, '') ?? '';
        if (!provisioningKeys.delete(key)) return void res.writeHead(401).end('Unauthorized');
        const app = fake.applications.find((a) => a.id === body.application);
        if (!app || typeof body.uuid !== 'string' || !/^[0-9a-f]{32}([0-9a-f]{30})?$/.test(body.uuid) || fake.devices.some((d) => d.uuid === body.uuid)) return send(res, 400, 'bad registration');
        const device: FakeDevice = { id: nextId++, uuid: body.uuid, device_name: body.uuid.slice(0, 7), overall_status: 'inactive', is_online: false, belongs_to__application: app.id, is_running__release: null, is_pinned_on__release: null, device_type: 1, tags: {}, env: {} };
        fake.devices.push(device);
        return send(res, 201, { id: device.id, uuid: device.uuid, api_key: `device-key-${device.id}` });
      }
      if (req.headers.authorization !== `Bearer ${token}`) return void res.writeHead(401).end('Unauthorized');
      if (url.pathname === '/actor/v1/whoami' && req.method === 'GET') return send(res, 200, { id: 1, actorType: 'user', actorTypeId: 1, username: 'vendor', email: 'vendor@example.org' });
      if (url.pathname === '/api-key/v2/' && req.method === 'POST' && body.actorType === 'application' && (body.roles as string[] | undefined)?.includes('provisioning-api-key')) {
        const key = `provisioning-key-${nextId++}`;
        provisioningKeys.add(key);
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(key));
      }
      const m = /^\/v7\/([a-z_]+)(?:\(([^)]*)\))?$/.exec(url.pathname);
      if (m) {
        const ctx: Ctx = { method: req.method ?? '', resource: m[1]!, key: m[2], params: url.searchParams, filter: url.searchParams.get('$filter') ?? '', body };
        for (const route of routes) if (route(ctx, res)) return;
      }
      fake.unknown.push(`${req.method} ${url.pathname}${decodeURIComponent(url.search)}`);
      send(res, 404, 'not implemented by the fake');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { ...fake, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, stop: () => new Promise<void>((r) => server.close(() => r())) };
}

function send(res: ServerResponse, status: number, payload: unknown): void {
  res.writeHead(status, { 'content-type': typeof payload === 'string' ? 'text/plain' : 'application/json' }).end(typeof payload === 'string' ? payload : JSON.stringify(payload));
}
