// Distinguished names as the whitelist writes them (RFC 4514: "CN=…,OU=…,O=…,ST=…,C=FR") and as Node prints a
// certificate subject (X509Certificate.subject: one "TYPE=value" per line, RFC 2253 escapes), compared as
// sets of attributes: the order differs between the two forms, and X.520 matching ignores case and spacing.

export interface Attribute {
  type: string;
  value: string;
}
export type DistinguishedName = readonly Attribute[];

const TYPE_ALIASES: Record<string, string> = {
  '2.5.4.3': 'CN',
  COMMONNAME: 'CN',
  '2.5.4.11': 'OU',
  ORGANIZATIONALUNITNAME: 'OU',
  '2.5.4.10': 'O',
  ORGANIZATIONNAME: 'O',
  '2.5.4.8': 'ST',
  S: 'ST',
  STATEORPROVINCENAME: 'ST',
  '2.5.4.7': 'L',
  LOCALITYNAME: 'L',
  '2.5.4.6': 'C',
  COUNTRYNAME: 'C',
  '1.2.840.113549.1.9.1': 'E',
  EMAILADDRESS: 'E',
  '2.5.4.5': 'SERIALNUMBER',
};

/** Parses "CN=a,OU=b" (RFC 4514) or Node's "C=FR\nCN=a" form. Throws on anything else. */
export function parseDistinguishedName(text: string): DistinguishedName {
  const attributes: Attribute[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && text[i] === ' ') i++;
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new Error(`distinguished name "${text}": attribute without "=" at ${i}`);
    const rawType = text.slice(i, eq).trim();
    if (!/^([A-Za-z][A-Za-z0-9-]*|[0-9]+(\.[0-9]+)+)$/.test(rawType)) throw new Error(`distinguished name "${text}": bad attribute type "${rawType}"`);
    i = eq + 1;
    if (text[i] === '#') throw new Error(`distinguished name "${text}": BER-encoded values are not accepted`);
    const bytes: number[] = [];
    let value = '';
    const flush = () => {
      if (bytes.length) value += Buffer.from(bytes.splice(0)).toString('utf8');
    };
    for (; i < n; i++) {
      const c = text[i]!;
      if (c === ',' || c === '+' || c === '\n' || c === ';') break;
      if (c === '\\') {
        const hex = text.slice(i + 1, i + 3);
        if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
          bytes.push(parseInt(hex, 16));
          i += 2;
          continue;
        }
        flush();
        const escaped = text[i + 1];
        if (escaped === undefined) throw new Error(`distinguished name "${text}": dangling escape`);
        value += escaped;
        i += 1;
        continue;
      }
      flush();
      value += c;
    }
    flush();
    attributes.push({ type: canonicalType(rawType), value: value.trim() });
    i++; // separator
  }
  if (attributes.length === 0) throw new Error('distinguished name is empty');
  return attributes;
}

function canonicalType(type: string): string {
  const upper = type.toUpperCase();
  return TYPE_ALIASES[upper] ?? upper;
}

function matchKey(a: Attribute): string {
  return `${a.type}=${a.value.normalize('NFC').replace(/\s+/g, ' ').trim().toLowerCase()}`;
}

/** Same attributes, same values (case and spacing ignored), whatever the order. */
export function sameDistinguishedName(a: DistinguishedName, b: DistinguishedName): boolean {
  if (a.length !== b.length) return false;
  const left = a.map(matchKey).sort();
  const right = b.map(matchKey).sort();
  return left.every((k, idx) => k === right[idx]);
}

export function commonName(dn: DistinguishedName): string | undefined {
  return dn.find((a) => a.type === 'CN')?.value;
}

export function formatDistinguishedName(dn: DistinguishedName): string {
  return dn.map((a) => `${a.type}=${a.value.replace(/([,+;\\"<>=])/g, '\\$1')}`).join(',');
}
