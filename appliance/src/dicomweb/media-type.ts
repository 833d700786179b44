/**
 * Media types and their parameters (RFC 9110 §8.3.1, §12.5.1), parsed leniently: parameters may be quoted or
 * not, spaced or not, and unknown ones are kept. Names (type, subtype, parameter names) are lower-cased.
 */

export interface MediaType {
  type: string;
  subtype: string;
  params: Map<string, string>;
}

/** A token (RFC 9110 §5.6.2): a media type's type and subtype, a parameter value that needs no quotes, a field name. */
const TOKEN_CHARS = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
export const TOKEN = new RegExp(`^${TOKEN_CHARS}$`);
const TYPE_SUBTYPE = new RegExp(`^\\s*(${TOKEN_CHARS})\\/(${TOKEN_CHARS})\\s*$`);

/** Splits `value` at `separator` outside double quotes (a quoted string may hold ',' or ';'). */
export function splitOutsideQuotes(value: string, separator: ',' | ';'): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (quoted && ch === '\\' && i + 1 < value.length) {
      current += ch + value[i + 1]!;
      i++;
      continue;
    }
    if (ch === '"') quoted = !quoted;
    if (ch === separator && !quoted) {
      out.push(current);
      current = '';
    } else current += ch;
  }
  out.push(current);
  return out;
}

function unquote(value: string): string {
  const v = value.trim();
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) return v.slice(1, -1).replace(/\\(.)/g, '$1');
  return v;
}

/** `name=value` pieces after the media type; a piece without '=' is ignored. */
export function parseParams(pieces: string[]): Map<string, string> {
  const params = new Map<string, string>();
  for (const piece of pieces) {
    const eq = piece.indexOf('=');
    if (eq <= 0) continue;
    const name = piece.slice(0, eq).trim().toLowerCase();
    if (name) params.set(name, unquote(piece.slice(eq + 1)));
  }
  return params;
}

/** Parses one media type (`multipart/related; type="application/dicom"; boundary=x`); undefined when malformed. */
export function parseMediaType(text: string): MediaType | undefined {
  const [head = '', ...rest] = splitOutsideQuotes(text, ';');
  const match = TYPE_SUBTYPE.exec(head);
  if (!match) return undefined;
  return { type: match[1]!.toLowerCase(), subtype: match[2]!.toLowerCase(), params: parseParams(rest) };
}

/** Formats a parameter value, quoting it when it is not a token (RFC 9110 §5.6.2). */
function formatValue(value: string): string {
  return TOKEN.test(value) ? value : `"${value.replace(/(["\\])/g, '\\$1')}"`;
}

/**
 * Formats a media type. `quoted` parameters are always quoted: PS3.18 §8.7.3.5 requires `type` quoted
 * (some clients read `type=application/dicom` as `application` plus garbage).
 */
export function formatMediaType(base: string, params: Record<string, string | undefined>, quoted: string[] = ['type']): string {
  let out = base;
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined) continue;
    out += `; ${name}=${quoted.includes(name) ? `"${value.replace(/(["\\])/g, '\\$1')}"` : formatValue(value)}`;
  }
  return out;
}
