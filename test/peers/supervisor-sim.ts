/**
 * A local stand-in for the balena supervisor's API, with the endpoints the box uses and nothing else
 * (../shared/reference/appliance-and-fleet.md §3.5, §4): `GET /v1/device` (update state), `PATCH /v2/device/tags`
 * (device tags, supervisor ≥ 17.8), `GET /ping`. Like the real one it refuses a request without the API key,
 * and it records every request so a test can see what the box sent — and that it sent nothing else.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SupervisorSim {
  address: string;
  apiKey: string;
  /** What GET /v1/device answers. */
  device: { update_pending: boolean; update_downloaded: boolean; update_failed: boolean; status: string; download_progress: number | null };
  tags: Record<string, string>;
  requests: { method: string; path: string; authorized: boolean; body?: unknown }[];
  /** Requests to an endpoint the simulator does not implement (a test should expect none). */
  unknown: string[];
  stop(): Promise<void>;
}

export async function startSupervisorSim(apiKey = 'supervisor-test-key'): Promise<SupervisorSim> {
  const sim = {
    apiKey,
    device: { update_pending: false, update_downloaded: false, update_failed: false, status: 'Idle', download_progress: null },
    tags: {} as Record<string, string>,
    requests: [] as SupervisorSim['requests'],
    unknown: [] as string[],
  };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://supervisor');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const authorized = url.searchParams.get('apikey') === apiKey || req.headers.authorization === `Bearer ${apiKey}`;
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = text;
      }
      sim.requests.push({ method: req.method ?? '', path: url.pathname, authorized, body });
      const send = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
      };
      if (url.pathname === '/ping' && req.method === 'GET') return void res.writeHead(200).end('OK');
      if (!authorized) return void res.writeHead(401).end('Unauthorized');
      if (url.pathname === '/v1/device' && req.method === 'GET') return send(200, { ...sim.device, api_port: 48484, ip_address: '192.168.1.20', os_version: 'balenaOS 6.0.0', supervisor_version: '17.8.0' });
      if (url.pathname === '/v2/device/tags' && req.method === 'PATCH') {
        if (!body || typeof body !== 'object' || Array.isArray(body) || Object.values(body).some((v) => typeof v !== 'string')) return send(400, { status: 'failed', message: 'tags: an object of string values' });
        Object.assign(sim.tags, body);
        return send(200, { status: 'success' });
      }
      sim.unknown.push(`${req.method} ${url.pathname}`);
      send(404, { status: 'failed', message: 'not implemented by the simulator' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    ...sim,
    get device() {
      return sim.device;
    },
    set device(d) {
      sim.device = d;
    },
    address: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
