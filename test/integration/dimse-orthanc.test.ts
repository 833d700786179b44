import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { startOrthanc, type OrthancPeer } from '../peers/orthanc.js';
import { freePort, reservedPort } from '../peers/ports.js';
import { makeMiniStudy, datasetBytes, transferSyntaxOf, type MiniStudy } from '../fixtures/mini-instances.js';
import type { DicomJson } from '../../appliance/src/dicom/model.js';
import { createPacsBridge, startStoreScp, PacsError, type PacsBridge, type StoreScp, type ReceivedInstance } from '../../appliance/src/dimse/index.js';
import type { PacsConfig } from '../../appliance/src/config/schema.js';
import { loopbackDimse } from '../peers/box-config.js';

// The bridge against a real PACS (Debian's Orthanc) with the box declared in it as a modality.

const BOX = 'DRIMBOX';
const dir = mkdtempSync(join(tmpdir(), 'dimse-orthanc-'));
const dimse = loopbackDimse(10_000);

let orthanc: OrthancPeer;
let noGet: OrthancPeer;
let scp: StoreScp;
let study: MiniStudy;
let jlsSopInstanceUid: string;
const scpReceived: ReceivedInstance[] = [];

function pacsOf(peer: OrthancPeer, overrides: Partial<PacsConfig> = {}): PacsConfig {
  return { aeTitle: peer.aeTitle, host: '127.0.0.1', port: peer.dicomPort, retrieve: 'C-GET', dicomwebUrl: '', maxAssociations: 4, ...overrides };
}

function bridgeTo(peer: OrthancPeer, overrides: Partial<PacsConfig> = {}, boxScp: StoreScp | null = scp): PacsBridge {
  return createPacsBridge(pacsOf(peer, overrides), { aeTitle: BOX, scp: boxScp ?? undefined }, dimse);
}

async function collect(iterable: AsyncIterable<DicomJson>): Promise<DicomJson[]> {
  const out: DicomJson[] = [];
  for await (const match of iterable) out.push(match);
  return out;
}

const str = (json: DicomJson, tag: string) => json[tag]?.Value?.[0] as string | undefined;

/** Orthanc's own copy of an instance, as it stores it. */
async function orthancFile(peer: OrthancPeer, sopInstanceUid: string): Promise<Buffer> {
  const ids = await peer.rest<{ ID: string }[]>('/tools/lookup', { method: 'POST', body: sopInstanceUid });
  expect(ids, `Orthanc has ${sopInstanceUid}`).toHaveLength(1);
  const res = await fetch(`${peer.httpUrl}/instances/${ids[0]!.ID}/file`);
  return Buffer.from(await res.arrayBuffer());
}

/** Every file the retrieve wrote is byte-identical, dataset for dataset, to Orthanc's; returns how many were checked. */
async function expectSameAsOrthanc(peer: OrthancPeer, outDir: string, expected: string[]): Promise<void> {
  const files = readdirSync(outDir).filter((f) => f.endsWith('.dcm'));
  expect(files.sort()).toEqual(expected.map((uid) => `${uid}.dcm`).sort());
  for (const f of files) {
    const mine = readFileSync(join(outDir, f));
    const theirs = await orthancFile(peer, f.slice(0, -4));
    expect(transferSyntaxOf(mine), f).toBe(transferSyntaxOf(theirs));
    expect(datasetBytes(mine).equals(datasetBytes(theirs)), `${f} dataset identical to Orthanc's`).toBe(true);
  }
}

async function upload(peer: OrthancPeer, files: string[]): Promise<void> {
  for (const f of files) await peer.upload(readFileSync(f));
}

beforeAll(async () => {
  const scpPort = await reservedPort();
  const modalities = { drimbox: { aeTitle: BOX, host: '127.0.0.1', port: scpPort } };
  [orthanc, noGet] = await Promise.all([startOrthanc({ modalities }), startOrthanc({ modalities, allowGet: false, aeTitle: 'NOGETPACS' })]);
  scp = await startStoreScp({
    aeTitle: BOX,
    host: '127.0.0.1',
    port: scpPort,
    allowedCallingAeTitles: [orthanc.aeTitle, noGet.aeTitle],
    storageDir: join(dir, 'scp-unsolicited'),
    onInstance: (instance) => void scpReceived.push(instance),
  });
  study = await makeMiniStudy({ outDir: join(dir, 'study'), instances: 12, seriesCount: 3, patientName: 'DUPONT^Hélène', rows: 32, columns: 32 });
  // One instance of the study in JPEG-LS: the box must receive it as the PACS stores it, not decompressed.
  const jls = join(dir, 'study-jls.dcm');
  execFileSync('dcmcjpls', [study.files[0]!, jls]);
  jlsSopInstanceUid = study.series[0]!.instances[0]!.sopInstanceUid;
  await upload(orthanc, [jls, ...study.files.slice(1)]);
  await upload(noGet, study.files);
});

afterAll(async () => {
  await scp?.close();
  await Promise.all([orthanc?.stop(), noGet?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('C-ECHO and C-FIND against Orthanc', () => {
  it('echoes', async () => {
    await expect(bridgeTo(orthanc).echo()).resolves.toBeUndefined();
  });

  it('finds at STUDY, SERIES and IMAGE level, decoded to DICOM JSON', async () => {
    const bridge = bridgeTo(orthanc);
    const studies = await collect(bridge.find({ level: 'STUDY', keys: { PatientName: 'DUPONT*', StudyDate: '', NumberOfStudyRelatedInstances: '' } }));
    expect(studies).toHaveLength(1);
    expect(str(studies[0]!, '0020000D')).toBe(study.studyInstanceUid);
    expect(studies[0]!['00100010']).toEqual({ vr: 'PN', Value: [{ Alphabetic: 'DUPONT^Hélène' }] });
    expect(studies[0]!['00201208']).toEqual({ vr: 'IS', Value: [12] });

    const series = await collect(bridge.find({ level: 'SERIES', keys: { StudyInstanceUID: study.studyInstanceUid, Modality: '', NumberOfSeriesRelatedInstances: '' } }));
    expect(series.map((s) => str(s, '0020000E')).sort()).toEqual(study.series.map((s) => s.seriesInstanceUid).sort());
    expect(series.map((s) => s['00201209']?.Value?.[0])).toEqual([4, 4, 4]);

    const images = await collect(bridge.find({ level: 'IMAGE', keys: { StudyInstanceUID: study.studyInstanceUid, SOPClassUID: '' } }));
    expect(images.map((i) => str(i, '00080018')).sort()).toEqual(study.series.flatMap((s) => s.instances.map((i) => i.sopInstanceUid)).sort());
    expect(new Set(images.map((i) => str(i, '00080016')))).toEqual(new Set(['1.2.840.10008.5.1.4.1.1.2']));
  });

  it('stops early on break, cancels, and frees the association for the next caller', async () => {
    const bridge = bridgeTo(orthanc, { maxAssociations: 1 });
    let seen = 0;
    for await (const match of bridge.find({ level: 'IMAGE', keys: { StudyInstanceUID: study.studyInstanceUid } })) {
      expect(match['00080018']).toBeDefined();
      if (++seen === 2) break;
    }
    expect(seen).toBe(2);
    // With one association allowed, this would wait forever had the find not released its own.
    await expect(bridge.echo()).resolves.toBeUndefined();
  });

  it('an AbortSignal cancels a C-FIND in progress at once, and frees the association', async () => {
    const bridge = bridgeTo(orthanc, { maxAssociations: 1 });
    const controller = new AbortController();
    let seen = 0;
    const consume = async () => {
      for await (const match of bridge.find({ level: 'IMAGE', keys: { StudyInstanceUID: study.studyInstanceUid } }, controller.signal)) {
        expect(match['00080018']).toBeDefined();
        seen++;
        controller.abort();
      }
    };
    await expect(consume()).rejects.toMatchObject({ kind: 'cancelled' });
    expect(seen).toBe(1);
    await expect(bridge.echo()).resolves.toBeUndefined();
  });

  it('refuses an unknown keyword before opening an association', async () => {
    await expect(collect(bridgeTo(orthanc).find({ level: 'STUDY', keys: { PatientsNom: '' } }))).rejects.toThrow(/unknown DICOM attribute keyword "PatientsNom"/);
  });

  it('keeps to pacs.maxAssociations: concurrent callers queue', async () => {
    const proxy = await countingProxy(orthanc.dicomPort);
    try {
      const bridge = createPacsBridge({ ...pacsOf(orthanc, { maxAssociations: 2 }), port: proxy.port }, { aeTitle: BOX }, dimse);
      const results = await Promise.all(
        Array.from({ length: 6 }, () => collect(bridge.find({ level: 'IMAGE', keys: { StudyInstanceUID: study.studyInstanceUid } }))),
      );
      expect(results.map((r) => r.length)).toEqual([12, 12, 12, 12, 12, 12]);
      expect(proxy.total).toBe(6);
      expect(proxy.maxConcurrent).toBe(2);
    } finally {
      await proxy.close();
    }
  });
});

describe('retrieve', () => {
  const allUids = () => study.series.flatMap((s) => s.instances.map((i) => i.sopInstanceUid));

  it('C-GET of a study: every instance on disk, byte-identical to what Orthanc stores, JPEG-LS kept as is', async () => {
    const outDir = join(dir, 'get-study');
    const seen: ReceivedInstance[] = [];
    const progress: number[] = [];
    const result = await bridgeTo(orthanc).retrieve(
      { level: 'STUDY', studyInstanceUid: study.studyInstanceUid },
      { outDir, onInstance: (i) => void seen.push(i), onProgress: (p) => progress.push(p.completed) },
    );
    expect(result).toMatchObject({ completed: 12, failed: 0, instances: 12, failedSopInstanceUids: [] });
    expect(seen).toHaveLength(12);
    expect(seen.find((i) => i.sopInstanceUid === jlsSopInstanceUid)?.transferSyntaxUid).toBe('1.2.840.10008.1.2.4.80');
    expect(progress.at(-1)).toBe(12);
    await expectSameAsOrthanc(orthanc, outDir, allUids());
  });

  it('C-GET of one series and of one instance', async () => {
    const series = study.series[1]!;
    const r1 = await bridgeTo(orthanc).retrieve(
      { level: 'SERIES', studyInstanceUid: study.studyInstanceUid, seriesInstanceUid: series.seriesInstanceUid },
      { outDir: join(dir, 'get-series') },
    );
    expect(r1.instances).toBe(4);
    await expectSameAsOrthanc(orthanc, join(dir, 'get-series'), series.instances.map((i) => i.sopInstanceUid));
    const one = series.instances[2]!;
    const r2 = await bridgeTo(orthanc).retrieve(
      { level: 'IMAGE', studyInstanceUid: study.studyInstanceUid, seriesInstanceUid: series.seriesInstanceUid, sopInstanceUid: one.sopInstanceUid },
      { outDir: join(dir, 'get-one'), sopClassUids: ['1.2.840.10008.5.1.4.1.1.2'] },
    );
    expect(r2).toMatchObject({ instances: 1, completed: 1 });
    await expectSameAsOrthanc(orthanc, join(dir, 'get-one'), [one.sopInstanceUid]);
  });

  it('refuses a retrieve target with an invalid UID', async () => {
    await expect(
      bridgeTo(orthanc).retrieve({ level: 'SERIES', studyInstanceUid: study.studyInstanceUid, seriesInstanceUid: '../../etc' }, { outDir: join(dir, 'x') }),
    ).rejects.toThrow(/SeriesInstanceUID "..\/..\/etc" is not a valid UID/);
  });

  it('a PACS without C-GET: the C-GET fails with a hint, the C-MOVE to the box SCP works', async () => {
    const get = bridgeTo(noGet).retrieve({ level: 'STUDY', studyInstanceUid: study.studyInstanceUid }, { outDir: join(dir, 'noget-get') });
    await expect(get).rejects.toMatchObject({ kind: 'association-aborted' });
    await expect(get).rejects.toThrow(/pacs.retrieve set to "C-MOVE"/);

    const before = scpReceived.length;
    const outDir = join(dir, 'move-study');
    const seen: ReceivedInstance[] = [];
    const result = await bridgeTo(noGet, { retrieve: 'C-MOVE' }).retrieve(
      { level: 'STUDY', studyInstanceUid: study.studyInstanceUid },
      { outDir, onInstance: (i) => void seen.push(i) },
    );
    expect(result).toMatchObject({ completed: 12, failed: 0, instances: 12 });
    expect(seen.map((i) => i.path.startsWith(outDir))).toEqual(Array(12).fill(true));
    // The SCP's own observer sees them too (the source side watches it for IOCM rejection notes).
    expect(scpReceived.length - before).toBe(12);
    expect(readdirSync(join(dir, 'scp-unsolicited')).filter((f) => f.endsWith('.dcm'))).toEqual([]);
    await expectSameAsOrthanc(noGet, outDir, allUids());
  });

  it('C-MOVE keeps JPEG-LS as Orthanc stores it', async () => {
    const outDir = join(dir, 'move-jls');
    const series = study.series[0]!;
    const result = await bridgeTo(orthanc, { retrieve: 'C-MOVE' }).retrieve(
      { level: 'SERIES', studyInstanceUid: study.studyInstanceUid, seriesInstanceUid: series.seriesInstanceUid },
      { outDir },
    );
    expect(result.instances).toBe(4);
    expect(transferSyntaxOf(readFileSync(join(outDir, `${jlsSopInstanceUid}.dcm`)))).toBe('1.2.840.10008.1.2.4.80');
    await expectSameAsOrthanc(orthanc, outDir, series.instances.map((i) => i.sopInstanceUid));
  });

  // PS3.4 C.4.2.1.4 says 0xA801; Orthanc 1.10 answers 0xC000 (its log: "Unknown modality for AET"). Both must read the same.
  it('unknown move destination: says the box AE title is not declared in the PACS', async () => {
    const stranger = await startStoreScp({ aeTitle: 'NOTDECLARED', host: '127.0.0.1', port: 0, allowedCallingAeTitles: ['ORTHANC'], storageDir: join(dir, 'stranger') });
    try {
      const move = bridgeTo(orthanc, { retrieve: 'C-MOVE' }, stranger).retrieve({ level: 'STUDY', studyInstanceUid: study.studyInstanceUid }, { outDir: join(dir, 'nowhere') });
      await expect(move).rejects.toMatchObject({ kind: 'unknown-move-destination' });
      await expect(move).rejects.toThrow(/AE title "NOTDECLARED" is not declared in the PACS as a modality/);
    } finally {
      await stranger.close();
    }
  });

  it('C-MOVE without the box SCP is a configuration error, not a hang', async () => {
    await expect(
      bridgeTo(orthanc, { retrieve: 'C-MOVE' }, null).retrieve({ level: 'STUDY', studyInstanceUid: study.studyInstanceUid }, { outDir: join(dir, 'n') }),
    ).rejects.toThrow(/C-STORE SCP is not running/);
  });
});

describe('C-STORE to Orthanc', () => {
  it('stores what it can, reports every refusal and skip, sends JPEG-LS as JPEG-LS', async () => {
    const fresh = await makeMiniStudy({ outDir: join(dir, 'store'), instances: 3 });
    const unknownClass = await makeMiniStudy({ outDir: join(dir, 'store-unknown'), instances: 1, sopClassUid: '1.2.826.0.1.3680043.10.1558.999.1' });
    const jlsSource = await makeMiniStudy({ outDir: join(dir, 'store-jls-src'), instances: 1 });
    const jls = join(dir, 'store-jls.dcm');
    execFileSync('dcmcjpls', [jlsSource.files[0]!, jls]);
    const notDicom = join(dir, 'notes.txt');
    writeFileSync(notDicom, 'Compte rendu en texte libre, pas une image DICOM.'.repeat(10));
    const files = [fresh.files[0]!, unknownClass.files[0]!, notDicom, fresh.files[1]!, jls, join(dir, 'missing.dcm'), fresh.files[2]!];
    const seen: string[] = [];
    const outcomes = await bridgeTo(orthanc).store(files, (o) => seen.push(o.path));
    expect(outcomes).toHaveLength(files.length);
    expect(seen.sort()).toEqual([...files].sort());
    const byPath = new Map(outcomes.map((o) => [o.path, o]));
    for (const f of fresh.files) expect(byPath.get(f)).toMatchObject({ status: 'stored', dimseStatus: 0, transferSyntaxUid: '1.2.840.10008.1.2.1' });
    expect(byPath.get(jls)).toMatchObject({ status: 'stored', transferSyntaxUid: '1.2.840.10008.1.2.4.80' });
    expect(byPath.get(unknownClass.files[0]!)).toMatchObject({ status: 'refused' });
    expect(byPath.get(unknownClass.files[0]!)?.reason).toMatch(/does not accept SOP class 1\.2\.826\.0\.1\.3680043\.10\.1558\.999\.1/);
    expect(byPath.get(notDicom)).toMatchObject({ status: 'skipped' });
    expect(byPath.get(notDicom)?.reason).toMatch(/not a DICOM Part-10 file/);
    expect(byPath.get(join(dir, 'missing.dcm'))?.reason).toMatch(/ENOENT/);
    // What Orthanc holds is what was sent, byte for byte.
    for (const f of [...fresh.files, jls]) {
      const sent = readFileSync(f);
      const uid = f === jls ? jlsSource.series[0]!.instances[0]!.sopInstanceUid : f.split('/').pop()!.slice(0, -4);
      expect(datasetBytes(await orthancFile(orthanc, uid)).equals(datasetBytes(sent)), f).toBe(true);
    }
  });
});

describe('errors a technician can act on', () => {
  it('PACS unreachable: names host and port', async () => {
    const port = await freePort();
    const bridge = createPacsBridge({ ...pacsOf(orthanc), port }, { aeTitle: BOX }, dimse);
    const echo = bridge.echo();
    await expect(echo).rejects.toMatchObject({ kind: 'unreachable' });
    await expect(echo).rejects.toThrow(`127.0.0.1:${port} is unreachable (connection refused`);
  });

  it('wrong called AE title: rejected, with the reason and what to check', async () => {
    const echo = bridgeTo(orthanc, { aeTitle: 'NOTORTHANC' }).echo();
    await expect(echo).rejects.toMatchObject({ kind: 'association-rejected' });
    await expect(echo).rejects.toThrow(/called AE title not recognised \(pacs.aeTitle is "NOTORTHANC"/);
  });

  it('a peer that accepts the connection and never answers: timeout, from the inactivity timer', async () => {
    const silent = await fakePeer(() => {});
    try {
      const bridge = createPacsBridge({ ...pacsOf(orthanc), port: silent.port }, { aeTitle: BOX }, { ...dimse, responseTimeoutMs: 400 });
      const echo = bridge.echo();
      await expect(echo).rejects.toMatchObject({ kind: 'timeout' });
      await expect(echo).rejects.toThrow(/sent nothing for \d+ s during association negotiation \(dimse.responseTimeoutMs = 400\)/);
    } finally {
      await silent.close();
    }
  });

  it('a peer that aborts: association-aborted', async () => {
    // A-ABORT PDU (PS3.8 §9.3.8): type 07H, length 4, source 2 (service provider), reason 0.
    const aborting = await fakePeer((socket) => socket.once('data', () => socket.end(Buffer.from([0x07, 0, 0, 0, 0, 4, 0, 0, 2, 0]))));
    try {
      const echo = createPacsBridge({ ...pacsOf(orthanc), port: aborting.port }, { aeTitle: BOX }, dimse).echo();
      await expect(echo).rejects.toMatchObject({ kind: 'association-aborted' });
      await expect(echo).rejects.toThrow(/aborted by the PACS's DICOM stack/);
    } finally {
      await aborting.close();
    }
  });

  it('cancelled by AbortSignal mid C-GET: C-CANCEL sent, cancelled error, the association released', async () => {
    const bridge = bridgeTo(orthanc, { maxAssociations: 1 });
    const controller = new AbortController();
    const outDir = join(dir, 'get-cancelled');
    let received = 0;
    const get = bridge.retrieve(
      { level: 'STUDY', studyInstanceUid: study.studyInstanceUid },
      {
        outDir,
        onInstance: async () => {
          if (++received === 1) controller.abort();
          await new Promise((r) => setTimeout(r, 20));
        },
        signal: controller.signal,
      },
    );
    await expect(get).rejects.toMatchObject({ kind: 'cancelled' });
    expect(received).toBeGreaterThanOrEqual(1);
    expect(received).toBeLessThan(12);
    await expect(bridge.echo()).resolves.toBeUndefined();
    // Whatever is on disk is complete: no temporary file left behind.
    expect(readdirSync(outDir).filter((f) => !f.endsWith('.dcm'))).toEqual([]);
  });

  it('the errors are PacsErrors', async () => {
    const err = await bridgeTo(orthanc, { aeTitle: 'NOTORTHANC' }).echo().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PacsError);
  });
});

/** A TCP peer under the test's control. */
async function fakePeer(onConnection: (socket: Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A TCP proxy to Orthanc that counts connections, and the most open at once. */
async function countingProxy(target: number): Promise<{ port: number; total: number; maxConcurrent: number; close(): Promise<void> }> {
  let open = 0;
  const stats = { total: 0, maxConcurrent: 0 };
  const peer = await fakePeer((client) => {
    stats.total++;
    stats.maxConcurrent = Math.max(stats.maxConcurrent, ++open);
    const upstream = connect({ host: '127.0.0.1', port: target });
    upstream.setNoDelay(true);
    client.setNoDelay(true);
    upstream.on('error', () => client.destroy());
    client.pipe(upstream).pipe(client);
    client.on('close', () => {
      open--;
      upstream.destroy();
    });
  });
  return {
    port: peer.port,
    get total() {
      return stats.total;
    },
    get maxConcurrent() {
      return stats.maxConcurrent;
    },
    close: peer.close,
  };
}
