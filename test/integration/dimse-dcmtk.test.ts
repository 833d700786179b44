import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { runDcmtk, startStorescp } from '../peers/dcmtk.js';
import { freePort } from '../peers/ports.js';
import { makeMiniStudy, datasetBytes, transferSyntaxOf, type MiniStudy } from '../fixtures/mini-instances.js';
import { createPacsBridge, startStoreScp, type StoreScp, type ReceivedInstance } from '../../appliance/src/dimse/index.js';
import { loopbackDimse } from '../peers/box-config.js';

// DCMTK, which shares no code with the box, as the peer: its SCUs against the box's SCP, its storescp under the box's SCU.

const dir = mkdtempSync(join(tmpdir(), 'dimse-dcmtk-'));
const dimse = loopbackDimse(10_000);
let scp: StoreScp;
let study: MiniStudy;
const received: { instance: ReceivedInstance; from: string }[] = [];

beforeAll(async () => {
  scp = await startStoreScp({
    aeTitle: 'DRIMBOX',
    host: '127.0.0.1',
    port: 0,
    allowedCallingAeTitles: ['STORESCU', 'ECHOSCU', 'PACS'],
    storageDir: join(dir, 'scp'),
    onInstance: (instance, origin) => void received.push({ instance, from: origin.callingAeTitle }),
  });
  study = await makeMiniStudy({ outDir: join(dir, 'study'), instances: 150, seriesCount: 2, rows: 24, columns: 24 });
});

afterAll(async () => {
  await scp?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("dcmtk SCUs against the box's SCP", () => {
  it('echoscu: C-ECHO succeeds', async () => {
    const r = await runDcmtk('echoscu', ['-aet', 'ECHOSCU', '-aec', 'DRIMBOX', '127.0.0.1', String(scp.port)]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('an unknown calling AE title is rejected: "Calling AE Title Not Recognized"', async () => {
    const r = await runDcmtk('echoscu', ['-aet', 'INTRUDER', '-aec', 'DRIMBOX', '127.0.0.1', String(scp.port)]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Rejected Permanent, Source: Service User');
    expect(r.stderr).toContain('Calling AE Title Not Recognized');
  });

  it('a called AE title other than the box is rejected: "Called AE Title Not Recognized"', async () => {
    const r = await runDcmtk('echoscu', ['-aet', 'ECHOSCU', '-aec', 'SOMEONE', '127.0.0.1', String(scp.port)]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Called AE Title Not Recognized');
  });

  it('a second SCP on the same port fails with words, not a stack', async () => {
    const second = startStoreScp({ aeTitle: 'DRIMBOX', host: '127.0.0.1', port: scp.port, allowedCallingAeTitles: ['PACS'], storageDir: join(dir, 'second') });
    await expect(second).rejects.toThrow(`cannot listen on 127.0.0.1:${scp.port} (another program already uses that port): check dimse.port`);
  });

  it('storescu of 150 files on one association: every instance on disk, dataset as sent', async () => {
    const before = received.length;
    const r = await runDcmtk('storescu', ['-aet', 'STORESCU', '-aec', 'DRIMBOX', '127.0.0.1', String(scp.port), ...study.files]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const files = readdirSync(join(dir, 'scp')).filter((f) => f.endsWith('.dcm'));
    expect(files).toHaveLength(150);
    expect(received.length - before).toBe(150);
    expect(received.slice(before).every((r) => r.from === 'STORESCU')).toBe(true);
    for (const series of study.series) {
      for (const { sopInstanceUid, path } of series.instances) {
        const stored = readFileSync(join(dir, 'scp', `${sopInstanceUid}.dcm`));
        expect(datasetBytes(stored).equals(datasetBytes(readFileSync(path))), sopInstanceUid).toBe(true);
      }
    }
    // dcmtk reads what the box wrote as a valid Part-10 file, with the sender recorded.
    const dump = execFileSync('dcmdump', ['-M', join(dir, 'scp', files[0]!)]).toString();
    expect(dump).toContain('(0002,0016) AE [STORESCU]');
  });

  it('storescu proposing JPEG-LS: the box keeps the compressed bytes', async () => {
    const jls = join(dir, 'one.jls.dcm');
    execFileSync('dcmcjpls', [study.files[0]!, jls]);
    const r = await runDcmtk('storescu', ['-xt', '-aet', 'STORESCU', '-aec', 'DRIMBOX', '127.0.0.1', String(scp.port), jls]);
    expect(r.code).toBe(0);
    const stored = readFileSync(join(dir, 'scp', `${study.series[0]!.instances[0]!.sopInstanceUid}.dcm`));
    expect(transferSyntaxOf(stored)).toBe('1.2.840.10008.1.2.4.80');
    expect(datasetBytes(stored).equals(datasetBytes(readFileSync(jls)))).toBe(true);
    // and dcmtk decodes it
    execFileSync('dcmdjpls', [join(dir, 'scp', `${study.series[0]!.instances[0]!.sopInstanceUid}.dcm`), join(dir, 'decoded.dcm')]);
  });
});

describe("the box's SCU against dcmtk's storescp", () => {
  it('C-ECHO, and C-STORE whose bytes storescp receives unchanged (--bit-preserving)', async () => {
    const port = await freePort();
    const peer = await startStorescp({ port, aeTitle: 'STORESCP', outDir: join(dir, 'storescp'), bitPreserving: true, acceptAll: true });
    try {
      const bridge = createPacsBridge(
        { aeTitle: 'STORESCP', host: '127.0.0.1', port, retrieve: 'C-GET', dicomwebUrl: '', maxAssociations: 2 },
        { aeTitle: 'DRIMBOX' },
        dimse,
      );
      await bridge.echo();
      const jls = join(dir, 'two.jls.dcm');
      execFileSync('dcmcjpls', [study.files[1]!, jls]);
      // The JPEG-LS copy has the SOP Instance UID of study.files[1]: storescp keeps the last one, the JPEG-LS.
      const files = [...study.files.slice(0, 40), jls];
      const outcomes = await bridge.store(files);
      expect(outcomes.filter((o) => o.status !== 'stored')).toEqual([]);
      expect(outcomes.find((o) => o.path === jls)?.transferSyntaxUid).toBe('1.2.840.10008.1.2.4.80');
      const written = readdirSync(join(dir, 'storescp'));
      expect(written).toHaveLength(40);
      for (const name of written) {
        const theirs = readFileSync(join(dir, 'storescp', name));
        const uid = name.replace(/^[A-Z]{2}\./, '');
        const source = uid === study.series[1]!.instances[0]!.sopInstanceUid ? jls : join(dir, 'study', `${uid}.dcm`);
        expect(datasetBytes(theirs).equals(datasetBytes(readFileSync(source))), name).toBe(true);
      }
    } finally {
      await peer.stop();
    }
  });

  it('dcmtk refusing a SOP class: reported, the rest stored', async () => {
    const port = await freePort();
    const peer = await startStorescp({ port, aeTitle: 'STORESCP', outDir: join(dir, 'storescp-2') });
    try {
      const odd = await makeMiniStudy({ outDir: join(dir, 'odd'), instances: 1, sopClassUid: '1.2.826.0.1.3680043.10.1558.999.2' });
      const bridge = createPacsBridge(
        { aeTitle: 'STORESCP', host: '127.0.0.1', port, retrieve: 'C-GET', dicomwebUrl: '', maxAssociations: 1 },
        { aeTitle: 'DRIMBOX' },
        dimse,
      );
      const outcomes = await bridge.store([study.files[5]!, odd.files[0]!, study.files[6]!]);
      expect(outcomes.map((o) => o.status).sort()).toEqual(['refused', 'stored', 'stored']);
      expect(outcomes.find((o) => o.path === odd.files[0])).toMatchObject({ status: 'refused' });
      expect(readdirSync(join(dir, 'storescp-2'))).toHaveLength(2);
    } finally {
      await peer.stop();
    }
  });
});
