import { encodeText, type Hl7Encoding } from './charset.js';
import { hl7ErrorCodes, hl7ErrorTexts, type AckCode, type AckError } from './errors.js';
import { defaultSeparators, escapeHl7, type Hl7Separators } from './escape.js';
import type { Hl7Message } from './message.js';
import { parseHl7Message } from './parse.js';

export interface AckOptions {
  /** MSH-10 of the ACK; a fresh id by default. */
  controlId?: string;
  now?: Date;
}

/** What the ACK echoes from the message it answers. */
interface Echo {
  seps: Hl7Separators;
  encoding: Hl7Encoding;
  /** MSH-n as raw (escaped) text, n = 3..21. */
  msh: (n: number) => string;
  trigger: string;
  controlId: string;
  version: string;
}

/**
 * Original-mode acknowledgment (HL7 v2.5 §2.9): MSH with sending/receiving swapped, MSH-9 ACK^<trigger>^ACK,
 * MSA echoing MSH-10, and for AE/AR an ERR segment (v2.5+: ERR-2 location, ERR-3 code, ERR-4 severity,
 * ERR-8 text; before v2.5: ERR-1). Same separators and charset as the message; for bytes that are not a
 * readable message, whatever MSH could be read, or a minimal v2.5 header.
 */
export function buildAck(input: Hl7Message | Buffer, code: AckCode, error?: AckError, options: AckOptions = {}): Buffer {
  const echo = Buffer.isBuffer(input) ? echoFromBytes(input) : echoFromMessage(input);
  const { seps } = echo;
  const f = seps.field;
  const esc = (text: string) => escapeHl7(text, seps);
  const version = echo.version || '2.5';
  const [major, minor] = versionNumbers(version);
  const older = major < 2 || (major === 2 && minor < 5);

  const messageType = echo.trigger ? (major === 2 && minor < 3 ? `ACK${seps.component}${echo.trigger}` : `ACK${seps.component}${echo.trigger}${seps.component}ACK`) : 'ACK';
  const encodingChars = seps.component + seps.repetition + seps.escape + seps.subcomponent + (seps.truncation ?? '');
  const msh = [
    'MSH',
    encodingChars,
    echo.msh(5),
    echo.msh(6),
    echo.msh(3),
    echo.msh(4),
    hl7Timestamp(options.now ?? new Date()),
    '',
    messageType,
    esc(options.controlId ?? newControlId()),
    echo.msh(11) || 'P',
    esc(version),
    '',
    '',
    '',
    '',
    echo.msh(17),
    echo.msh(18),
  ];
  const segments = [trimEmpty(msh).join(f)];

  const msa = ['MSA', code, esc(echo.controlId)];
  // MSA-3 (withdrawn in v2.7) still shows a reason on older RIS screens; with AA it is a note (e.g. a duplicate).
  if (error?.text && (major < 2 || (major === 2 && minor < 7))) msa.push(esc(truncate(error.text, 80)));
  segments.push(msa.join(f));

  if (error && code === 'AA' && error.severity === 'W' && !older) {
    // v2.5 ERR-4 severity W: the message is accepted, with something the sender should fix (e.g. its MSH-18).
    const codeCwe = [error.hl7ErrorCode ?? hl7ErrorCodes.messageAccepted, esc(hl7ErrorTexts[error.hl7ErrorCode ?? '0'] ?? ''), 'HL70357'].join(seps.component);
    segments.push(['ERR', '', (error.location ?? '').split('^').map(esc).join(seps.component), codeCwe, 'W', '', '', '', esc(truncate(error.text, 250))].join(f));
  }
  if (error && code !== 'AA') {
    const errorCode = error.hl7ErrorCode ?? '207';
    const errorText = hl7ErrorTexts[errorCode] ?? '';
    const location = (error.location ?? '').split('^').map(esc).join(seps.component);
    if (older) {
      // v2.3.1/v2.4 ERR-1 (CM_ELD): segment ^ sequence ^ field ^ code&text&table.
      const codeCe = [errorCode, esc(errorText), 'HL70357'].join(seps.subcomponent);
      const where = [...(error.location ?? '').split('^'), '', '', ''].slice(0, 3).map(esc);
      segments.push(['ERR', [...where, codeCe].join(seps.component)].join(f));
    } else {
      const codeCwe = [errorCode, esc(errorText), 'HL70357'].join(seps.component);
      segments.push(['ERR', '', location, codeCwe, 'E', '', '', '', esc(truncate(error.text, 250))].join(f));
    }
  }
  return encodeText(segments.join('\r') + '\r', echo.encoding);
}

export interface AckSummary {
  code: string;
  /** MSA-2: the control id of the message acknowledged. */
  controlId: string;
  /** MSA-3 and ERR-8 texts, ERR-2 locations. */
  text: string;
  errors: { location: string; code: string; text: string }[];
}

/** Reads an ACK received by the MLLP client. Throws Hl7ParseError if it is not an HL7 message with MSA. */
export function readAck(bytes: Buffer): AckSummary {
  const msg = parseHl7Message(bytes);
  const msa = msg.segment('MSA');
  if (!msa) throw new Error(`the answer is a ${msg.event} without MSA segment, not an acknowledgment`);
  const errors = msg.segmentsNamed('ERR').map((err) => ({
    location: err.field(2).isEmpty ? err.field(1).repetitions[0]!.raw.split(msg.separators.component).slice(0, 3).join('^') : err.field(2).repetitions[0]!.raw.split(msg.separators.component).join('^'),
    code: err.get(3, 1) || err.get(1, 4, 1),
    text: err.get(8) || err.get(1, 4, 2),
  }));
  const text = msa.get(3) || errors.map((e) => e.text).filter(Boolean).join('; ');
  return { code: msa.get(1), controlId: msa.get(2), text, errors };
}

function echoFromMessage(msg: Hl7Message): Echo {
  const header = msg.header;
  return {
    seps: msg.separators,
    encoding: msg.charset.encoding,
    msh: (n) => header.field(n).raw,
    trigger: header.get(9, 2),
    controlId: msg.controlId,
    version: header.get(12),
  };
}

/** For bytes that did not parse: read the MSH line as far as it goes, keep ASCII only. */
function echoFromBytes(raw: Buffer): Echo {
  try {
    return echoFromMessage(parseHl7Message(raw));
  } catch {
    // fall through to the lenient reading below
  }
  const text = raw.toString('latin1').replace(/^[\uFEFF\u00EF\u00BB\u00BF\s]+/, '');
  const line = (text.split(/[\r\n]/)[0] ?? '').replace(/[^\x20-\x7e]/g, '?');
  if (!line.startsWith('MSH') || line.length < 8) {
    return { seps: defaultSeparators, encoding: 'ascii', msh: () => '', trigger: '', controlId: '', version: '2.5' };
  }
  const field = line[3]!;
  const enc = [...line.slice(4, 8)];
  const usable = !/[A-Za-z0-9 ]/.test(field) && enc.length === 4 && new Set([field, ...enc]).size === 5 && enc.every((c) => !/[A-Za-z0-9 ]/.test(c));
  const seps: Hl7Separators = usable ? { field, component: enc[0]!, repetition: enc[1]!, escape: enc[2]!, subcomponent: enc[3]! } : defaultSeparators;
  if (!usable) return { seps, encoding: 'ascii', msh: () => '', trigger: '', controlId: '', version: '2.5' };
  const parts = line.split(field);
  const msh = (n: number) => (n >= 2 ? (parts[n - 1] ?? '') : '');
  const msh9 = msh(9).split(seps.component);
  return {
    seps,
    encoding: 'ascii',
    msh,
    trigger: /^[A-Z0-9]{3}$/.test(msh9[1] ?? '') ? msh9[1]! : '',
    controlId: msh(10).split(seps.component)[0] ?? '',
    version: /^\d+(\.\d+)*$/.test(msh(12).split(seps.component)[0] ?? '') ? msh(12).split(seps.component)[0]! : '2.5',
  };
}

let counter = 0;

/** ≤ 20 characters (MSH-10 is ST 20 up to v2.5), unique within the process and across restarts. */
function newControlId(): string {
  counter = (counter + 1) % 1_679_616; // 36^4
  return `A${Date.now().toString(36).toUpperCase()}${counter.toString(36).toUpperCase().padStart(4, '0')}`;
}

/** HL7 TS with seconds and the local UTC offset, e.g. 20240131153000+0100. */
export function hl7Timestamp(date: Date): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return (
    `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}` +
    `${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`
  );
}

function versionNumbers(version: string): [number, number] {
  const [major, minor] = version.split('.').map((p) => Number.parseInt(p, 10));
  return [Number.isFinite(major) ? major! : 2, Number.isFinite(minor) ? minor! : 5];
}

function trimEmpty(fields: string[]): string[] {
  let end = fields.length;
  while (end > 2 && fields[end - 1] === '') end--;
  return fields.slice(0, end);
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, max - 3) + '...';
}
