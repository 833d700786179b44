/**
 * Interoperability with an MLLP implementation we did not write: Debian's python3-hl7 (hl7 0.4.5) and its
 * `mllp_send` tool, sending to the box's listener and reading the box's ACK frame with its own decoder.
 * The package comes from scripts/install-system-deps.sh.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAck } from '../../appliance/src/hl7/ack.js';
import { startMllpServer, type MllpServer } from '../../appliance/src/hl7/mllp-server.js';
import { parseHl7Message } from '../../appliance/src/hl7/parse.js';
import { reportFromHl7 } from '../../appliance/src/report/parse.js';
import { freePort } from '../peers/ports.js';

const silent = { debug() {}, info() {}, warn() {}, error() {}, child() { return silent; } };
const local = (name: string) => readFileSync(new URL(`../fixtures/hl7/${name}`, import.meta.url));

function mllpSend(port: number, file: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('mllp_send', ['--loose', '--port', String(port), '--file', file, '127.0.0.1'], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe("Debian's mllp_send (python3-hl7) against the box", () => {
  let server: MllpServer;
  let dir: string;
  const received: string[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'drimbox-mllp-'));
    server = await startMllpServer({
      host: '127.0.0.1',
      port: await freePort(),
      logger: silent,
      handler: async (raw) => {
        const msg = parseHl7Message(raw);
        received.push(msg.controlId);
        reportFromHl7(msg);
        return buildAck(msg, 'AA');
      },
    });
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers messages the box acknowledges AA, read back by the foreign decoder', async () => {
    const file = join(dir, 'two-messages.hl7');
    // --loose: messages separated by blank lines, segments by CRLF, as the tool expects from files.
    const crlf = (name: string) => local(name).toString('utf8').replace(/\r\n|\r|\n/g, '\r\n').trimEnd();
    writeFileSync(file, `${crlf('omi-o23-cancel.hl7')}\r\n\r\n${crlf('mdm-t10-replace.hl7')}\r\n`);
    const run = await mllpSend(server.port, file);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const answers = run.stdout.split(/\r\n?|\n/).filter((l) => l.startsWith('MSA|'));
    expect(answers).toEqual(['MSA|AA|OMI-20240116-0004', 'MSA|AA|MDM-20240115-0002']);
    expect(received).toEqual(['OMI-20240116-0004', 'MDM-20240115-0002']);
  });

  it('gets a readable NACK for a message the box refuses', async () => {
    const file = join(dir, 'adt.hl7');
    writeFileSync(file, 'MSH|^~\\&|RIS|SITE|DRIMBOX|SITE|20240101||ADT^A01^ADT_A01|ADT-1|P|2.5\r\nPID|||X\r\n');
    const run = await mllpSend(server.port, file);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('MSA|AR|ADT-1|');
    expect(run.stdout).toContain('ERR||MSH^1^9|200^Unsupported message type^HL70357|E');
  });
});
