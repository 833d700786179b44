import { readFile } from 'node:fs/promises';
import { readAck } from '../../hl7/ack.js';
import { Hl7Error } from '../../hl7/errors.js';
import { sendMllp } from '../../hl7/mllp-client.js';
import { parseHl7Message } from '../../hl7/parse.js';
import { inspectHl7, looksLikeXml, reportFromCda, ReportError } from '../../report/parse.js';
import { parseCommandArgs, UsageError, type Command } from '../args.js';

const usage = `usage:
  drimbox hl7 send FILE --to HOST:PORT [--timeout MS]   send an HL7 message over MLLP, print the ACK (exit 1 unless AA)
  drimbox hl7 parse FILE                                 print what the box reads from an HL7 message or a CDA, as JSON

FILE: an HL7 v2 message (.hl7/.er7, segments ended by CR, CRLF or LF) or, for parse, a CDA document (.xml).`;

export const command: Command = {
  summary: 'send an HL7 message over MLLP, or show what the box reads from a message or a CDA',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'send') return send(rest);
    if (sub === 'parse') return parse(rest);
    if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
      process.stdout.write(usage + '\n');
      return sub === undefined ? 2 : 0;
    }
    throw new UsageError(`unknown hl7 subcommand "${sub}"\n${usage}`);
  },
};

async function send(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { to: { type: 'string' }, timeout: { type: 'string' } });
  if (values.help) return help();
  const file = onlyFile(positionals);
  if (typeof values.to !== 'string') throw new UsageError(`--to HOST:PORT is required\n${usage}`);
  const target = /^(.+):(\d{1,5})$/.exec(values.to);
  if (!target || Number(target[2]) > 65535) throw new UsageError(`--to must be HOST:PORT, not "${values.to}"`);
  const timeoutMs = values.timeout === undefined ? 30_000 : Number(values.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new UsageError(`--timeout must be a positive number of milliseconds`);

  const bytes = await readInput(file);
  if (looksLikeXml(bytes)) throw new UsageError(`${file} is an XML document: hl7 send takes an HL7 v2 message`);
  const host = target[1]!.replace(/^\[(.*)\]$/, '$1');
  let ack: Buffer;
  try {
    ack = await sendMllp(host, Number(target[2]), toCrSegments(bytes), { timeoutMs });
  } catch (err) {
    process.stderr.write(`drimbox: ${(err as Error).message}\n`);
    return 1;
  }
  process.stdout.write(displayText(ack) + '\n');
  try {
    const summary = readAck(ack);
    if (summary.code !== 'AA' && summary.code !== 'CA') {
      process.stderr.write(`drimbox: the peer answered ${summary.code || '(no code)'}${summary.text ? `: ${summary.text}` : ''}\n`);
      return 1;
    }
    return 0;
  } catch (err) {
    process.stderr.write(`drimbox: the answer is not a readable acknowledgment: ${(err as Error).message}\n`);
    return 1;
  }
}

async function parse(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, {});
  if (values.help) return help();
  const file = onlyFile(positionals);
  const bytes = await readInput(file);
  try {
    if (looksLikeXml(bytes)) {
      process.stdout.write(JSON.stringify(reportFromCda(bytes), null, 2) + '\n');
      return 0;
    }
    const inspection = inspectHl7(parseHl7Message(bytes));
    process.stdout.write(JSON.stringify(inspection.report, null, 2) + '\n');
    for (const err of inspection.errors) process.stderr.write(`drimbox: would answer ${err.code}: ${err.message}\n`);
    return inspection.errors.length ? 1 : 0;
  } catch (err) {
    if (err instanceof ReportError || err instanceof Hl7Error) {
      process.stderr.write(`drimbox: would answer ${err.ackCode}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

function help(): number {
  process.stdout.write(usage + '\n');
  return 0;
}

function onlyFile(positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError(`expected one FILE, got ${positionals.length}\n${usage}`);
  return positionals[0]!;
}

async function readInput(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Files are often saved with CRLF or LF: on the wire every segment ends with CR. */
function toCrSegments(bytes: Buffer): Buffer {
  const out = Buffer.alloc(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x0d && bytes[i + 1] === 0x0a) continue; // the LF that follows becomes the CR
    out[n++] = b === 0x0a ? 0x0d : b;
  }
  let end = n;
  while (end > 0 && (out[end - 1] === 0x0d || out[end - 1] === 0x20)) end--;
  const trimmed = Buffer.concat([out.subarray(0, end), Buffer.of(0x0d)]);
  return trimmed;
}

function displayText(ack: Buffer): string {
  let text: string;
  try {
    const msg = parseHl7Message(ack);
    text = msg.charset.encoding === 'utf-8' ? ack.toString('utf8') : ack.toString('latin1');
  } catch {
    text = ack.toString('latin1');
  }
  return text.replace(/\r\n?/g, '\n').trimEnd();
}
