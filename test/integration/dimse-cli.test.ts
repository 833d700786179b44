import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startOrthanc, type OrthancPeer } from '../peers/orthanc.js';
import { freePort, reservedPort } from '../peers/ports.js';
import { makeMiniStudy, type MiniStudy } from '../fixtures/mini-instances.js';

// `drimbox pacs ...` as a technician runs it: configuration from DRIMBOX_* variables, output to read, exit codes.

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'dimse-cli-'));
let orthanc: OrthancPeer;
let study: MiniStudy;
let scpPort: number;

async function drimbox(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('node', ['bin/drimbox.js', 'pacs', ...args], {
      env: {
        ...process.env,
        TCP_NODELAY: '1',
        DRIMBOX_LOG_LEVEL: 'warn',
        DRIMBOX_PACS_PORT: String(orthanc.dicomPort),
        DRIMBOX_DIMSE_PORT: String(scpPort),
        DRIMBOX_DIMSE_LISTEN_HOST: '127.0.0.1',
        ...env,
      },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

beforeAll(async () => {
  // Bound by each `drimbox pacs move` in turn, and declared in Orthanc: outside the range freePort draws from.
  scpPort = await reservedPort();
  orthanc = await startOrthanc({ modalities: { drimbox: { aeTitle: 'DRIMBOX', host: '127.0.0.1', port: scpPort } } });
  study = await makeMiniStudy({ outDir: join(dir, 'study'), instances: 6, seriesCount: 2, patientId: 'CLI-PATIENT' });
  for (const f of study.files) await orthanc.upload(readFileSync(f));
});

afterAll(async () => {
  await orthanc?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('drimbox pacs', () => {
  it('echo: OK with the PACS named; unreachable: exit 1 with host:port', async () => {
    const ok = await drimbox(['echo']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`C-ECHO to PACS ORTHANC at 127.0.0.1:${orthanc.dicomPort} as DRIMBOX: OK`));
    const port = await freePort();
    const down = await drimbox(['echo'], { DRIMBOX_PACS_PORT: String(port) });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(`127.0.0.1:${port} is unreachable`);
  });

  it('find: one DICOM JSON line per match', async () => {
    const studies = await drimbox(['find', '--level', 'STUDY', '-k', 'PatientID=CLI-PATIENT']);
    expect(studies.code).toBe(0);
    const lines = studies.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, { Value?: unknown[] }>);
    expect(lines).toHaveLength(1);
    expect(lines[0]!['0020000D']?.Value).toEqual([study.studyInstanceUid]);
    expect(lines[0]!['00201208']?.Value).toEqual([6]);
    const images = await drimbox(['find', '--level', 'IMAGE', '--study', study.studyInstanceUid, '--series', study.series[1]!.seriesInstanceUid]);
    expect(images.stdout.trim().split('\n')).toHaveLength(3);
    const usage = await drimbox(['find', '--level', 'SERIES']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('needs --study UID');
  });

  it('get and move: files in --out, a summary, exit 0', async () => {
    const get = await drimbox(['get', '--study', study.studyInstanceUid, '--out', join(dir, 'get')]);
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout).toContain('6 instance(s) written to');
    expect(readdirSync(join(dir, 'get'))).toHaveLength(6);
    const move = await drimbox(['move', '--study', study.studyInstanceUid, '--series', study.series[0]!.seriesInstanceUid, '--out', join(dir, 'move')]);
    expect(move.code, move.stderr).toBe(0);
    expect(move.stdout).toMatch(/^C-MOVE from PACS ORTHANC .*: 3 instance\(s\) written/);
    expect(readdirSync(join(dir, 'move')).sort()).toEqual(study.series[0]!.instances.map((i) => `${i.sopInstanceUid}.dcm`).sort());
  });

  it('store: walks folders, prints each refusal, exit 1 when any instance was not stored', async () => {
    const fresh = await makeMiniStudy({ outDir: join(dir, 'to-store'), instances: 3 });
    await makeMiniStudy({ outDir: join(dir, 'to-store', 'odd'), instances: 1, sopClassUid: '1.2.826.0.1.3680043.10.1558.999.3' });
    writeFileSync(join(dir, 'to-store', 'README.txt'), 'not an image '.repeat(20));
    const r = await drimbox(['store', join(dir, 'to-store')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^refused .*odd.*does not accept SOP class 1\.2\.826\.0\.1\.3680043\.10\.1558\.999\.3/m);
    expect(r.stdout).toMatch(/^skipped .*README\.txt: .*not a DICOM Part-10 file/m);
    expect(r.stdout).toContain('3 stored, 0 with warning, 1 refused, 1 skipped, of 5 file(s)');
    const ok = await drimbox(['store', ...fresh.files]);
    expect(ok.code).toBe(0);
  });

  it('bad UIDs are usage errors, before any association', async () => {
    const r = await drimbox(['get', '--study', '1.2.3/../../x', '--out', join(dir, 'x')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--study "1.2.3/../../x" is not a valid UID');
  });
});
