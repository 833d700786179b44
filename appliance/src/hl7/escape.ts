import { decodeBytes, type Hl7Encoding } from './charset.js';

/** The five encoding characters of MSH-1/MSH-2 (plus the v2.7 truncation character when sent). */
export interface Hl7Separators {
  field: string;
  component: string;
  repetition: string;
  escape: string;
  subcomponent: string;
  truncation?: string;
}

export const defaultSeparators: Hl7Separators = { field: '|', component: '^', repetition: '~', escape: '\\', subcomponent: '&' };

/**
 * Resolves HL7 escape sequences (v2.5 §2.7): \F\ \S\ \T\ \R\ \E\ (and \P\ for truncation), \Xhh..\ bytes in
 * the message charset, \.br\ and \.sp\ as line breaks; highlighting and other formatting commands are dropped.
 * A lone escape character without its closing twin is kept as text, as receivers commonly do.
 */
export function unescapeHl7(text: string, seps: Hl7Separators, encoding: Hl7Encoding): string {
  const esc = seps.escape;
  if (!esc || !text.includes(esc)) return text;
  let out = '';
  let i = 0;
  while (i < text.length) {
    const start = text.indexOf(esc, i);
    if (start < 0) {
      out += text.slice(i);
      break;
    }
    const end = text.indexOf(esc, start + 1);
    if (end < 0) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, start);
    const body = text.slice(start + 1, end);
    const resolved = resolveEscape(body, seps, encoding);
    if (resolved === undefined) {
      // Not an escape sequence: keep the first escape character and go on right after it.
      out += esc;
      i = start + 1;
      continue;
    }
    out += resolved;
    i = end + 1;
  }
  return out;
}

function resolveEscape(body: string, seps: Hl7Separators, encoding: Hl7Encoding): string | undefined {
  switch (body) {
    case 'F':
      return seps.field;
    case 'S':
      return seps.component;
    case 'T':
      return seps.subcomponent;
    case 'R':
      return seps.repetition;
    case 'E':
      return seps.escape;
    case 'P':
      return seps.truncation ?? '#';
    case 'H':
    case 'N':
      return '';
    case '.br':
    case '.sp':
      return '\n';
  }
  if (/^X([0-9A-Fa-f]{2})+$/.test(body)) return decodeBytes(Buffer.from(body.slice(1), 'hex'), encoding);
  // Formatting commands (.in, .ti, .sk, .ce, .fi, .nf) and charset switches (Cxxyy, Mxxyyzz) carry no text.
  if (/^\.(in|ti|sk)[+-]?\d*$/.test(body) || /^\.(ce|fi|nf)$/.test(body)) return '';
  if (/^C[0-9A-Fa-f]{4}$/.test(body) || /^M[0-9A-Fa-f]{4,6}$/.test(body)) return '';
  if (/^Z[^\s]*$/.test(body) && body.length > 1) return '';
  return undefined;
}

/** Escapes text so it can be written as one HL7 value (component or subcomponent). */
export function escapeHl7(text: string, seps: Hl7Separators): string {
  let out = '';
  for (const ch of text.replace(/\r\n?/g, '\n')) {
    if (ch === seps.escape) out += `${seps.escape}E${seps.escape}`;
    else if (ch === seps.field) out += `${seps.escape}F${seps.escape}`;
    else if (ch === seps.component) out += `${seps.escape}S${seps.escape}`;
    else if (ch === seps.subcomponent) out += `${seps.escape}T${seps.escape}`;
    else if (ch === seps.repetition) out += `${seps.escape}R${seps.escape}`;
    else if (ch === seps.truncation) out += `${seps.escape}P${seps.escape}`;
    else if (ch === '\n') out += `${seps.escape}.br${seps.escape}`;
    else out += ch;
  }
  return out;
}
