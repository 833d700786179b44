import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../peers/ports.js';

let child: ChildProcess | undefined;

afterAll(() => {
  if (child?.pid && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
});

describe('standalone PSC simulator (test/peers/psc-sim/main.ts)', () => {
  it('prints one JSON ready line, serves discovery and mints tokens on the given port', async () => {
    const port = await freePort();
    child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/peers/psc-sim/main.ts', '--port', String(port), '--client', 'box-a:secret-a:http://127.0.0.1:9999/cb'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    // stderr is drained (an unread pipe can stall the child) and kept for the failure message.
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const firstLine = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: child!.stdout! });
      lines.once('line', resolve);
      child!.once('exit', (code) => reject(new Error(`simulator exited with ${code}: ${stderr}`)));
      // Generous: this start-up competes with the whole suite for two cores.
      setTimeout(() => reject(new Error(`no ready line within 60 s; stderr: ${stderr}`)), 60_000).unref();
    });
    const ready = JSON.parse(firstLine) as { ready: boolean; issuer: string; port: number; users: string[]; password: string; clients: { clientId: string }[] };
    expect(ready).toMatchObject({ ready: true, port, issuer: `http://127.0.0.1:${port}/auth/realms/esante-wallet`, password: 'psc-sim-2026' });
    expect(ready.users).toEqual(['claire.martin', 'paul.durand', 'marie.hoarau']);
    expect(ready.clients).toEqual([{ clientId: 'box-a', redirectUris: ['http://127.0.0.1:9999/cb'] }]);

    const meta = (await (await fetch(`${ready.issuer}/.well-known/wallet-openid-configuration`)).json()) as { issuer: string };
    expect(meta.issuer).toBe(ready.issuer);
    const minted = await fetch(`http://127.0.0.1:${port}/_sim/token`, { method: 'POST', body: JSON.stringify({ user: 'claire.martin', ttl: 30 }) });
    const { access_token } = (await minted.json()) as { access_token: string };
    const answer = await fetch(`${ready.issuer}/protocol/openid-connect/token/introspect`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('box-a:secret-a').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: access_token }),
    });
    expect(await answer.json()).toMatchObject({ active: true, SubjectNameID: '810000000001', client_id: 'box-a' });

    process.kill(child.pid!, 'SIGTERM');
    const code = await new Promise<number | null>((r) => child!.once('exit', r));
    expect(code).toBe(0);
  });
});
