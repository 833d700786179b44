/** `drimbox hl7 send` and `drimbox hl7 parse` as a technician runs them. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAck } from '../../appliance/src/hl7/ack.js';
import { startMllpServer, type MllpServer } from '../../appliance/src/hl7/mllp-server.js';
import { parseHl7Message } from '../../appliance/src/hl7/parse.js';
import { reportFromHl7 } from '../../appliance/src/report/parse.js';
import { freePort } from '../peers/ports.js';
import { helene, STUDY_UID } from '../fixtures/hl7/generate.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const localFile = (name: string) => fileURLToPath(new URL(`../fixtures/hl7/${name}`, import.meta.url));
const referenceFile = (path: string) => fileURLToPath(new URL(`../fixtures/reference/${path}`, import.meta.url));
const silent = { debug() {}, info() {}, warn() {}, error() {}, child() { return silent; } };

function drimbox(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/drimbox.js', ...args], { cwd: root, env: { ...process.env, DRIMBOX_LOG_LEVEL: 'error' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('drimbox hl7 send', () => {
  let server: MllpServer;
  const wire: Buffer[] = [];
  beforeAll(async () => {
    server = await startMllpServer({
      host: '127.0.0.1',
      port: await freePort(),
      logger: silent,
      handler: async (raw) => {
        wire.push(raw);
        const msg = parseHl7Message(raw);
        reportFromHl7(msg);
        return buildAck(msg, 'AA');
      },
    });
  });
  afterAll(() => server.close());

  it('sends a message, prints the ACK and exits 0 on AA', async () => {
    const run = await drimbox('hl7', 'send', localFile('mdm-t02-publish.hl7'), '--to', `127.0.0.1:${server.port}`);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^MSH\|\^~\\&\|DRIMBOX\|CIM-SAINT-ELOI\|RIS-GAITE\|CIM-SAINT-ELOI\|.*\|ACK\^T02\^ACK\|/);
    expect(run.stdout).toContain('\nMSA|AA|MDM-20240115-0001\n');
  });

  it('sends LF-separated files with CR segment terminators', async () => {
    const run = await drimbox('hl7', 'send', localFile('oru-r01-no-pid.hl7'), '--to', `127.0.0.1:${server.port}`);
    expect(run.code).toBe(0);
    const sent = wire.at(-1)!;
    expect(sent.includes(0x0a)).toBe(false);
    expect(sent.toString('utf8').split('\r').filter(Boolean).map((s) => s.slice(0, 3))).toEqual(['MSH', 'ORC', 'OBR', 'OBX', 'OBX', 'OBX', 'OBX', 'OBX', 'OBX', 'OBX', 'OBX', 'OBX', 'OBX', 'OBX']);
  });

  it('exits 1 and says why when the box refuses the message', async () => {
    const run = await drimbox('hl7', 'send', referenceFile('spec/hl7v2/drim-m-data-CR_C-MDM_T02.header-only.hl7'), '--to', `127.0.0.1:${server.port}`);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('MSA|AE|{{idMessage}}|');
    expect(run.stdout).toContain('ERR||OBX^1^5^1^5|102^Data type error^HL70357|E');
    expect(run.stderr).toMatch(/the peer answered AE: OBX-5 is not base64/);
  });

  it('exits 1 with the peer named when nobody listens', async () => {
    const port = await freePort();
    const run = await drimbox('hl7', 'send', localFile('mdm-t02-publish.hl7'), '--to', `127.0.0.1:${port}`, '--timeout', '2000');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`MLLP exchange with 127.0.0.1:${port} failed`);
  });

  it('refuses bad usage with exit 2', async () => {
    expect((await drimbox('hl7', 'send', localFile('mdm-t02-publish.hl7'))).code).toBe(2);
    expect((await drimbox('hl7', 'send', localFile('mdm-t02-publish.hl7'), '--to', 'nowhere')).stderr).toMatch(/--to must be HOST:PORT/);
    expect((await drimbox('hl7', 'send', localFile('cda-synthetic-v1.xml'), '--to', '127.0.0.1:1')).stderr).toMatch(/is an XML document/);
  });
});

describe('drimbox hl7 parse', () => {
  it('prints the report event of an HL7 message as JSON', async () => {
    const run = await drimbox('hl7', 'parse', localFile('oru-r01-v2.5-publish.hl7'));
    expect(run.code).toBe(0);
    const event = JSON.parse(run.stdout);
    expect(event.action).toBe('publish');
    expect(event.patient.ins).toEqual({ value: helene.ins, issuerOid: '1.2.250.1.213.1.4.10', issuerName: 'ASIP-SANTE-INS-NIR' });
    expect(event.patient.birthName).toBe('LEFÈVRE-NOËL');
    expect(event.studyInstanceUid).toBe(STUDY_UID);
    expect(event.accession.issuerOid).toBe('1.2.250.1.925.994044785528.27');
    expect(event.organisation.id.value).toBe('750712184');
    expect(event.dmp.invisibleToPatient).toBe(true);
  });

  it('prints what it could read of a refused message, and the refusal, exit 1', async () => {
    const run = await drimbox('hl7', 'parse', referenceFile('spec/hl7v2/drim-m-data-ORU_R01_K.head-only.hl7'));
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout).accession).toEqual({ value: '09011600123', issuerOid: '' });
    expect(run.stderr).toContain("would answer AE: OBX^1^5^1^5: OBX-5 is not base64 (starts with '{{BASE64_CDA_ELIDED}}'): no CDA in the message");
  });

  it('reads a CDA file', async () => {
    const run = await drimbox('hl7', 'parse', referenceFile('spec/cda/IMG_CR_IMG_2023.11_CDA-R2-Niveau-1.xml'));
    expect(run.code).toBe(0);
    const event = JSON.parse(run.stdout);
    expect(event).toMatchObject({ action: 'replace', trigger: 'CDA', studyInstanceUid: '1.2.250.1.3.152.235.2.12.187636474' });
    expect(event.document.replaces).toBe('90E1C8EC-F951-4B26-A305-A34848818DD6');
  });

  it('says why bytes are not a message, exit 1', async () => {
    const run = await drimbox('hl7', 'parse', fileURLToPath(new URL('../../package.json', import.meta.url)));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/would answer AR: MSH\^1: the message does not start with an MSH segment/);
  });
});
