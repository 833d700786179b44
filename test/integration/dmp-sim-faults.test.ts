import { request } from 'node:https';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { post, readAnswer, type Tls } from '../peers/dmp-sim/testing/client.js';
import { startTestDmp, type TestDmp } from '../peers/dmp-sim/testing/fixture.js';
import { buildFindDocuments, buildIti41 } from '../peers/dmp-sim/testing/requests.js';

/** Each fault kind, as a client sees it. */
describe('DMP simulator: fault injection', () => {
  let dmp: TestDmp;
  beforeAll(async () => {
    dmp = await startTestDmp();
  });
  afterEach(() => dmp.sim.setFaults({}));
  afterAll(async () => {
    await dmp?.close();
  });

  const query = () => buildFindDocuments(dmp.sim.registryUrl, dmp.caller, ['Approved']);
  const ask = (timeoutMs = 10_000) => post(dmp.sim.registryUrl, dmp.tls, query(), timeoutMs);

  it('adds latency to the next request only', async () => {
    dmp.sim.setFaults({ rules: [{ kind: 'latency', delayMs: 600, count: 1 }] });
    const slow = await ask();
    expect(slow.status).toBe(200);
    expect(slow.elapsedMs).toBeGreaterThanOrEqual(600);
    // Spent on that one request: no rule is left for the next (checked on the simulator, not with a clock).
    expect(dmp.sim.faults().rules).toEqual([]);
    expect((await ask()).status).toBe(200);
  });

  it('answers 503 with Retry-After for N requests, then recovers', async () => {
    dmp.sim.setFaults({ rules: [{ kind: 'http503', count: 2, retryAfterSeconds: 7 }] });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push(await ask());
    expect(statuses.map((r) => r.status)).toEqual([503, 503, 200]);
    expect(statuses[0]!.headers['retry-after']).toBe('7');
  });

  it('resets the connection before processing: nothing is stored', async () => {
    dmp.sim.setFaults({ rules: [{ kind: 'reset', count: 1, endpoint: 'repository' }] });
    const s = dmp.newKos();
    await expect(post(dmp.sim.repositoryUrl, dmp.tls, buildIti41(dmp.sim.repositoryUrl, dmp.caller, s))).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(dmp.sim.db.entryByUniqueId(s.kosUid)).toBeUndefined();
    expect((await ask()).status).toBe(200); // the rule was for the repository only and is spent
  });

  it('resets after committing: the retry meets XDSDuplicateUniqueIdInRegistry', async () => {
    dmp.sim.setFaults({ rules: [{ kind: 'reset', count: 1, phase: 'after' }] });
    const s = dmp.newKos();
    await expect(post(dmp.sim.repositoryUrl, dmp.tls, buildIti41(dmp.sim.repositoryUrl, dmp.caller, s))).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(dmp.sim.db.entryByUniqueId(s.kosUid)?.status).toBe('Approved');
    const retry = readAnswer(await post(dmp.sim.repositoryUrl, dmp.tls, buildIti41(dmp.sim.repositoryUrl, dmp.caller, s)));
    expect(retry.errors.map((e) => e.code)).toContain('XDSDuplicateUniqueIdInRegistry');
  });

  it('never answers a hung request (the client times out)', async () => {
    dmp.sim.setFaults({ rules: [{ kind: 'hang', count: 1 }] });
    await expect(ask(700)).rejects.toThrow(/timeout after 700 ms/);
    expect(dmp.sim.requests().at(-1)?.httpStatus).toBe('hang');
  });

  it('trickles a slow response out in small chunks, complete in the end', async () => {
    const normal = await ask();
    dmp.sim.setFaults({ rules: [{ kind: 'trickle', count: 1, chunkBytes: Math.ceil(normal.body.length / 5), delayMs: 100 }] });
    const slow = await ask();
    expect(readAnswer(slow).status).toBe('Success');
    expect(slow.body.length).toBe(normal.body.length);
    expect(slow.elapsedMs).toBeGreaterThanOrEqual(400); // 5 chunks, 100 ms apart
  });

  it('fails with a probability, repeatably for a given seed', async () => {
    const run = async () => {
      dmp.sim.setFaults({ seed: 42, rules: [{ kind: 'http503', probability: 0.5 }] });
      const out: number[] = [];
      for (let i = 0; i < 10; i++) out.push((await ask()).status);
      return out;
    };
    const first = await run();
    expect(first).toContain(503);
    expect(first).toContain(200);
    expect(await run()).toEqual(first);
  });

  it('holds a scheduled outage window, then serves again', async () => {
    dmp.sim.setFaults({ outages: [{ kind: 'http503', inMs: 0, forMs: 800 }] });
    expect((await ask()).status).toBe(503);
    await new Promise((r) => setTimeout(r, 850));
    expect((await ask()).status).toBe(200);
  });

  it('takes faults over HTTP (POST /_sim/faults) and lists entries (GET /_sim/entries)', async () => {
    const set = await admin('POST', '/_sim/faults', dmp.tls, { rules: [{ kind: 'http503', count: 1 }] });
    expect(set.status).toBe(200);
    expect((await ask()).status).toBe(503);
    const bad = await admin('POST', '/_sim/faults', dmp.tls, { rules: [{ kind: 'meteor' }] });
    expect(bad.status).toBe(400);
    expect(String(bad.json.error)).toContain('rules.0.kind');
    const entries = await admin('GET', '/_sim/entries', dmp.tls);
    expect(Array.isArray(entries.json)).toBe(true);
    expect((entries.json as { uniqueId: string }[]).map((e) => e.uniqueId)).toEqual(dmp.sim.db.allEntries().map((e) => e.unique_id));
  });

  function admin(method: string, path: string, tls: Tls, body?: unknown): Promise<{ status: number; json: Record<string, unknown> | unknown[] & Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      const req = request(`${dmp.sim.url}${path}`, { method, ca: tls.ca, cert: tls.cert, key: tls.key, agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }
});
