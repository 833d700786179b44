import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { post, readAnswer } from '../peers/dmp-sim/testing/client.js';
import { PATIENT } from '../peers/dmp-sim/testing/fixture.js';
import { buildFindDocuments } from '../peers/dmp-sim/testing/requests.js';

interface Ready {
  event: string;
  url: string;
  registryUrl: string;
  pid: number;
  caCertPath: string;
  adminUrl: string;
  box: { clientCertPath: string; clientKeyPath: string; clientP12Path: string; signatureCertPath: string; signatureKeyPath: string; p12PasswordFile: string };
}

/** The simulator as the demo runs it: its own process, one JSON ready line, stopped by SIGTERM. */
describe('DMP simulator: standalone process', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dmp-sim-main-'));
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts, prints its ready line, serves the box certificate it issued, and stops on SIGTERM', async () => {
    child = spawn(process.execPath, ['--import', 'tsx', 'test/peers/dmp-sim/main.ts', '--data', dir, '--port', '0', '--admin-port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr!.resume(); // an unread pipe could stall the simulator
    const lines = createInterface({ input: child.stdout! });
    const ready = await new Promise<Ready>((resolve, reject) => {
      lines.once('line', (line) => resolve(JSON.parse(line) as Ready));
      child!.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
    });
    expect(ready.event).toBe('ready');
    expect(ready.pid).toBe(child.pid);
    expect(ready.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(readFileSync(ready.box.p12PasswordFile, 'utf8')).toMatch(/^[0-9a-f]{24}$/);

    const tls = { ca: readFileSync(ready.caCertPath, 'utf8'), cert: readFileSync(ready.box.clientCertPath, 'utf8'), key: readFileSync(ready.box.clientKeyPath, 'utf8') };
    const signer = { certPem: readFileSync(ready.box.signatureCertPath, 'utf8'), keyPem: readFileSync(ready.box.signatureKeyPath, 'utf8') };
    const answer = readAnswer(await post(ready.registryUrl, tls, buildFindDocuments(ready.registryUrl, { signer, structureId: '499700367909006', patient: PATIENT }, ['Approved'])));
    expect(answer.status).toBe('Success');
    const entries = await fetch(`${ready.adminUrl}/_sim/entries`);
    expect(await entries.json()).toEqual([]);

    const exited = new Promise<number | null>((resolve) => child!.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
