import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Provider from 'oidc-provider';
import { loginPage } from './pages.js';
import { TEST_PASSWORD, TEST_PROFESSIONALS, findProfessional, type TestProfessional } from './professionals.js';
import { PSC_ROUTES, REALM_PATH, createPscProvider, type SimulatorClient } from './provider.js';

export { TEST_PASSWORD, TEST_PROFESSIONALS, type TestProfessional, type SimulatorClient };

export interface PscSimulatorOptions {
  /** Port on 127.0.0.1; 0 or absent: a free one. */
  port?: number;
  /** Confidential clients (the DRIMboxes). Default: one demo client, see DEFAULT_CLIENT. */
  clients?: readonly SimulatorClient[];
  /** Lifetime of access and ID tokens (short in tests that check expiry). Default 300 s. */
  accessTokenTtlSeconds?: number;
}

export interface MintOptions {
  /** Lifetime of the minted access token; default: the simulator's access-token TTL. */
  ttlSeconds?: number;
  /** Client the token is issued to; default: the first registered client. */
  clientId?: string;
  scope?: string;
}

export type PscEndpoint = keyof typeof PSC_ROUTES | 'discovery' | 'walletDiscovery' | 'interaction' | 'mint';

export interface PscSimulator {
  /** http://127.0.0.1:<port>/auth/realms/esante-wallet */
  readonly issuer: string;
  readonly port: number;
  readonly clients: readonly SimulatorClient[];
  readonly professionals: readonly TestProfessional[];
  readonly testPassword: string;
  /** An access token for a test professional (by id, e.g. "claire.martin"), as if they had logged in. */
  mintToken(userId: string, options?: MintOptions): Promise<string>;
  /** Requests served per endpoint since start (tests count introspection calls). */
  requestCount(endpoint: PscEndpoint): number;
  stop(): Promise<void>;
}

export const DEFAULT_CLIENT: SimulatorClient = {
  clientId: 'drimbox-demo',
  clientSecret: 'drimbox-demo-secret',
  redirectUris: ['http://127.0.0.1:8080/auth/psc/callback'],
  postLogoutRedirectUris: ['http://127.0.0.1:8080/'],
};

const MAX_FORM_BYTES = 16 * 1024;

/** Starts the Pro Santé Connect simulator on loopback (plain HTTP). */
export async function startPscSimulator(options: PscSimulatorOptions = {}): Promise<PscSimulator> {
  const clients = options.clients?.length ? options.clients : [DEFAULT_CLIENT];
  const accessTokenTtlSeconds = options.accessTokenTtlSeconds ?? 300;
  if (!Number.isInteger(accessTokenTtlSeconds) || accessTokenTtlSeconds < 1) {
    throw new RangeError(`accessTokenTtlSeconds must be a positive integer, got ${accessTokenTtlSeconds}`);
  }
  const counts = new Map<PscEndpoint, number>();
  let provider: Provider | undefined;
  let providerHandler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;

  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      process.stderr.write(`psc-sim: ${req.method} ${req.url}: ${(err as Error).message}\n`);
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
      else res.destroy();
    });
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!isLoopback(req.socket.remoteAddress)) return sendJson(res, 403, { error: 'loopback only' });
    if (!provider || !providerHandler) return sendJson(res, 503, { error: 'starting' });
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;

    if (path === '/_sim/token' && req.method === 'POST') return mintEndpoint(req, res);
    if (path === '/_sim/users' && req.method === 'GET') {
      return sendJson(res, 200, TEST_PROFESSIONALS.map((p) => ({ id: p.id, label: p.label, SubjectNameID: p.subjectNameId })));
    }
    if (!path.startsWith(`${REALM_PATH}/`)) return sendJson(res, 404, { error: 'not found' });

    const rest = path.slice(REALM_PATH.length);
    const interaction = /^\/interaction\/([\w-]+)(\/login)?$/.exec(rest);
    if (interaction) {
      count('interaction');
      return interaction[2] ? submitLogin(req, res, provider) : showLogin(req, res, provider);
    }
    count(endpointOf(rest));
    // Mounted like Express's app.use(REALM_PATH, provider.callback()): oidc-provider reads the mount path
    // from originalUrl/baseUrl and builds its URLs under the issuer.
    const mounted = req as IncomingMessage & { originalUrl?: string; baseUrl?: string };
    mounted.originalUrl = req.url;
    mounted.baseUrl = REALM_PATH;
    const target = rest === '/.well-known/wallet-openid-configuration' ? '/.well-known/openid-configuration' : rest;
    req.url = `${target}${url.search}`;
    providerHandler(req, res);
  }

  function count(endpoint: PscEndpoint | undefined): void {
    if (endpoint) counts.set(endpoint, (counts.get(endpoint) ?? 0) + 1);
  }

  async function showLogin(req: IncomingMessage, res: ServerResponse, p: Provider): Promise<void> {
    const details = await p.interactionDetails(req, res);
    if (details.prompt.name !== 'login') {
      // Consent is never asked (loadExistingGrant); anything else is a bug of the simulator.
      return sendJson(res, 500, { error: `unexpected prompt ${details.prompt.name}` });
    }
    sendHtml(
      res,
      200,
      loginPage({
        action: `${REALM_PATH}/interaction/${details.uid}/login`,
        clientId: String(details.params.client_id ?? ''),
        professionals: TEST_PROFESSIONALS,
      }),
    );
  }

  async function submitLogin(req: IncomingMessage, res: ServerResponse, p: Provider): Promise<void> {
    if (req.method !== 'POST') return sendJson(res, 405, { error: 'POST only' });
    const details = await p.interactionDetails(req, res);
    const form = new URLSearchParams(await readBody(req, MAX_FORM_BYTES));
    const pro = findProfessional(form.get('professionnel') ?? '');
    if (!pro || form.get('motdepasse') !== TEST_PASSWORD) {
      return sendHtml(
        res,
        401,
        loginPage({
          action: `${REALM_PATH}/interaction/${details.uid}/login`,
          clientId: String(details.params.client_id ?? ''),
          professionals: TEST_PROFESSIONALS,
          selected: pro?.id,
          error: 'Identifiant ou mot de passe incorrect.',
        }),
      );
    }
    // acr eidas1: the level PSC asserts for a CPS card or e-CPS login (acr_values=eidas1, ci-sis-imaging.md §6).
    await p.interactionFinished(
      req,
      res,
      { login: { accountId: pro.sub, acr: 'eidas1', amr: ['pwd'] } },
      { mergeWithLastSubmission: false },
    );
  }

  async function mintEndpoint(req: IncomingMessage, res: ServerResponse): Promise<void> {
    count('mint');
    let body: { user?: unknown; ttl?: unknown; clientId?: unknown };
    try {
      body = JSON.parse(await readBody(req, MAX_FORM_BYTES)) as typeof body;
    } catch {
      return sendJson(res, 400, { error: 'body must be JSON {"user": "...", "ttl": seconds}' });
    }
    const user = typeof body.user === 'string' ? body.user : '';
    const pro = findProfessional(user);
    if (!pro) return sendJson(res, 404, { error: `unknown test user "${user}"`, users: TEST_PROFESSIONALS.map((p) => p.id) });
    const ttl = typeof body.ttl === 'number' && body.ttl > 0 ? Math.floor(body.ttl) : accessTokenTtlSeconds;
    const clientId = typeof body.clientId === 'string' ? body.clientId : undefined;
    try {
      const token = await mintToken(pro.id, { ttlSeconds: ttl, clientId });
      sendJson(res, 200, { access_token: token, token_type: 'Bearer', expires_in: ttl, sub: pro.sub, SubjectNameID: pro.subjectNameId });
    } catch (err) {
      sendJson(res, 400, { error: (err as Error).message });
    }
  }

  async function mintToken(userId: string, mint: MintOptions = {}): Promise<string> {
    if (!provider) throw new Error('PSC simulator not started');
    const pro = findProfessional(userId);
    if (!pro) throw new Error(`unknown test professional "${userId}" (known: ${TEST_PROFESSIONALS.map((p) => p.id).join(', ')})`);
    const clientId = mint.clientId ?? clients[0]!.clientId;
    const client = await provider.Client.find(clientId);
    if (!client) throw new Error(`unknown client "${clientId}"`);
    const scope = mint.scope ?? 'openid scope_all';
    const grant = new provider.Grant({ accountId: pro.sub, clientId });
    grant.addOIDCScope(scope);
    const grantId = await grant.save();
    const token = new provider.AccessToken({
      accountId: pro.sub,
      client,
      grantId,
      scope,
      gty: 'authorization_code',
      expiresIn: mint.ttlSeconds ?? accessTokenTtlSeconds,
    });
    return token.save();
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}${REALM_PATH}`;
  provider = createPscProvider({ issuer, clients, accessTokenTtlSeconds });
  provider.proxy = false;
  providerHandler = provider.callback();

  return {
    issuer,
    port,
    clients,
    professionals: TEST_PROFESSIONALS,
    testPassword: TEST_PASSWORD,
    mintToken,
    requestCount: (endpoint) => counts.get(endpoint) ?? 0,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function endpointOf(rest: string): PscEndpoint | undefined {
  if (rest === '/.well-known/openid-configuration') return 'discovery';
  if (rest === '/.well-known/wallet-openid-configuration') return 'walletDiscovery';
  for (const [name, path] of Object.entries(PSC_ROUTES)) if (rest === path) return name as PscEndpoint;
  return undefined;
}

function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error(`request body over ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html), 'cache-control': 'no-store' });
  res.end(html);
}
