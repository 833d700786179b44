/**
 * Text under ISO 2022 code extensions (PS3.5 §6.1.2.5: a Specific Character Set with several values, e.g.
 * `\ISO 2022 IR 87` for Japanese, `\ISO 2022 IR 149` for Korean). dcmjs reads only the first value and leaves the
 * escape sequences in the text; this module decodes such a value again, from the bytes dcmjs read, switching character
 * set at each escape sequence (PS3.3 C.12.1.1.2, PS3.5 Annex H, I, K), with the WHATWG decoders Node ships.
 */

type G0 = 'ascii' | 'romaji' | 'jisx0208' | 'jisx0212';
type G1 = 'none' | 'katakana' | 'ksx1001' | 'gb2312' | `iso-8859-${number}` | 'tis-620';

/** G1 set of each single-byte term (PS3.3 Table C.12-3), and the G0/G1 of the multi-byte ones (Table C.12-4). */
const TERM_G1: Record<string, G1> = {
  'ISO 2022 IR 100': 'iso-8859-1',
  'ISO 2022 IR 101': 'iso-8859-2',
  'ISO 2022 IR 109': 'iso-8859-3',
  'ISO 2022 IR 110': 'iso-8859-4',
  'ISO 2022 IR 144': 'iso-8859-5',
  'ISO 2022 IR 127': 'iso-8859-6',
  'ISO 2022 IR 126': 'iso-8859-7',
  'ISO 2022 IR 138': 'iso-8859-8',
  'ISO 2022 IR 148': 'iso-8859-9',
  'ISO 2022 IR 203': 'iso-8859-15',
  'ISO 2022 IR 166': 'tis-620',
  'ISO 2022 IR 13': 'katakana',
  'ISO 2022 IR 149': 'ksx1001',
  'ISO 2022 IR 58': 'gb2312',
};

/** Escape sequences after ESC (0x1B), PS3.3 Tables C.12-3 and C.12-4. */
const ESCAPES: [string, { g0?: G0; g1?: G1 }][] = [
  ['(B', { g0: 'ascii' }],
  ['(J', { g0: 'romaji' }],
  ['$B', { g0: 'jisx0208' }],
  ['$(D', { g0: 'jisx0212' }],
  [')I', { g1: 'katakana' }],
  ['$)C', { g1: 'ksx1001' }],
  ['$)A', { g1: 'gb2312' }],
  ['-A', { g1: 'iso-8859-1' }],
  ['-B', { g1: 'iso-8859-2' }],
  ['-C', { g1: 'iso-8859-3' }],
  ['-D', { g1: 'iso-8859-4' }],
  ['-L', { g1: 'iso-8859-5' }],
  ['-G', { g1: 'iso-8859-6' }],
  ['-F', { g1: 'iso-8859-7' }],
  ['-H', { g1: 'iso-8859-8' }],
  ['-M', { g1: 'iso-8859-9' }],
  ['-b', { g1: 'iso-8859-15' }],
  ['-T', { g1: 'tis-620' }],
];

/** Whether a Specific Character Set uses code extensions (several values, or an ISO 2022 term). */
export function usesCodeExtensions(charsets: readonly string[]): boolean {
  return charsets.length > 1 || charsets.some((c) => c.trim().startsWith('ISO 2022'));
}

const decoders = new Map<string, TextDecoder>();
/** One WHATWG decoder per label, made once. */
export function decoder(label: string): TextDecoder {
  let d = decoders.get(label);
  if (!d) decoders.set(label, (d = new TextDecoder(label)));
  return d;
}

function decodeRun(bytes: number[], set: G0 | G1): string {
  if (bytes.length === 0) return '';
  const data = Uint8Array.from(bytes);
  switch (set) {
    case 'ascii':
    case 'none':
      return String.fromCharCode(...bytes);
    case 'romaji':
      return String.fromCharCode(...bytes).replace(/\\/g, '¥').replace(/~/g, '‾');
    case 'jisx0208':
      return decoder('iso-2022-jp').decode(Uint8Array.from([0x1b, 0x24, 0x42, ...bytes, 0x1b, 0x28, 0x42]));
    case 'jisx0212': {
      const euc: number[] = [];
      for (let i = 0; i + 1 < bytes.length; i += 2) euc.push(0x8f, bytes[i]! | 0x80, bytes[i + 1]! | 0x80);
      return decoder('euc-jp').decode(Uint8Array.from(euc));
    }
    case 'katakana':
      return decoder('shift_jis').decode(data);
    case 'ksx1001':
      return decoder('euc-kr').decode(data);
    case 'gb2312':
      return decoder('gb18030').decode(data);
    default:
      return decoder(set).decode(data);
  }
}

/**
 * Decodes one value's bytes. `pn`: a person name component group, where `^` also returns to the initial sets (the
 * groups themselves, split at `=`, are decoded one by one). CR, LF, TAB and FF return to them in every value.
 */
export function decodeIso2022(bytes: Uint8Array, charsets: readonly string[], pn = false): string {
  const initialG1: G1 = TERM_G1[charsets[0]?.trim() ?? ''] ?? 'none';
  const initialG0: G0 = charsets[0]?.trim() === 'ISO 2022 IR 13' ? 'romaji' : 'ascii';
  let g0: G0 = initialG0;
  let g1: G1 = initialG1;
  let out = '';
  let run: number[] = [];
  let runSet: G0 | G1 = g0;
  const flush = () => {
    out += decodeRun(run, runSet);
    run = [];
  };
  const push = (b: number, set: G0 | G1) => {
    if (set !== runSet) {
      flush();
      runSet = set;
    }
    run.push(b);
  };
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x1b) {
      const rest = String.fromCharCode(...bytes.subarray(i + 1, i + 4));
      const found = ESCAPES.find(([seq]) => rest.startsWith(seq));
      if (found) {
        flush();
        if (found[1].g0) g0 = found[1].g0;
        if (found[1].g1) g1 = found[1].g1;
        runSet = g0;
        i += found[0].length;
        continue;
      }
    }
    // Inside a two-byte G0 set (JIS X 0208/0212) 0x5E is half of a character, not the component delimiter.
    const singleByteG0 = g0 === 'ascii' || g0 === 'romaji';
    const delimiter = b === 0x0d || b === 0x0a || b === 0x09 || b === 0x0c || (pn && singleByteG0 && b === 0x5e);
    if (delimiter) {
      flush();
      g0 = initialG0;
      g1 = initialG1;
      out += String.fromCharCode(b);
      runSet = g0;
      continue;
    }
    push(b, b < 0x80 ? g0 : g1);
  }
  flush();
  return out;
}

/**
 * The bytes behind a string dcmjs decoded with the first value of a multi-valued Specific Character Set. Node's
 * `latin1` decoder (dcmjs' default, and for `ISO 2022 IR 100`) maps each byte to the code point of the same value;
 * `ISO 2022 IR 13` was decoded as Shift_JIS, whose single bytes are ASCII and half-width katakana. Undefined when
 * the string cannot have come from such bytes.
 */
export function bytesDcmjsRead(text: string, charsets: readonly string[]): Uint8Array | undefined {
  const first = charsets[0]?.trim() ?? '';
  const katakana = first === 'ISO 2022 IR 13';
  if (!(first === '' || first === 'ISO 2022 IR 6' || first === 'ISO 2022 IR 100' || katakana)) return undefined;
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (katakana && c >= 0xff61 && c <= 0xff9f) out[i] = 0xa1 + (c - 0xff61);
    else if (c <= (katakana ? 0x7f : 0xff)) out[i] = c;
    else return undefined;
  }
  return out;
}

/** A value dcmjs read under code extensions, decoded again; as it was when its bytes cannot be recovered. */
export function redecode(text: string, charsets: readonly string[], pn = false): string {
  if (!text.includes('\u001b') && !/[\u0080-\u00ff\uff61-\uff9f]/.test(text)) return text;
  const bytes = bytesDcmjsRead(text, charsets);
  // Not recoverable (a first value dcmjs decoded with a multi-byte decoder): the escape sequences at least go.
  if (!bytes) return text.replace(/\u001b(\$\(D|\$\)[AC]|\$B|[()\-][A-Za-z])/g, '');
  return decodeIso2022(bytes, charsets, pn);
}

/** Text VRs whose values the Specific Character Set governs (PS3.5 §6.1.2.3). */
const TEXT_VRS = new Set(['SH', 'LO', 'ST', 'LT', 'UT', 'UC']);

type JsonDataset = Record<string, { vr?: string; Value?: unknown[] } | undefined>;

/** Decodes again, in place, every text and person name value of a DICOM JSON dataset read by dcmjs (items too). */
export function redecodeDicomJson<T extends JsonDataset>(ds: T, charsets: readonly string[]): T {
  for (const el of Object.values(ds)) {
    if (!el?.Value) continue;
    if (el.vr === 'SQ') {
      for (const item of el.Value) if (item && typeof item === 'object') redecodeDicomJson(item as JsonDataset, charsets);
    } else if (el.vr === 'PN') {
      el.Value = el.Value.map((v) => {
        if (!v || typeof v !== 'object') return v;
        const groups = { ...(v as Record<string, unknown>) };
        for (const [k, g] of Object.entries(groups)) if (typeof g === 'string') groups[k] = redecode(g, charsets, true);
        return groups;
      });
    } else if (el.vr && TEXT_VRS.has(el.vr)) {
      el.Value = el.Value.map((v) => (typeof v === 'string' ? redecode(v, charsets) : v));
    }
  }
  return ds;
}

/**
 * (0008,0005) of a dataset received as bytes (a C-FIND identifier), read from the bytes: it comes before every
 * element that could be a sequence, so the walk stops at the first tag past it. Empty when absent or unreadable.
 */
export function specificCharacterSetOf(bytes: Uint8Array, implicitVr: boolean): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  while (pos + 8 <= bytes.length) {
    const tag = ((view.getUint16(pos, true) << 16) | view.getUint16(pos + 2, true)) >>> 0;
    if (tag > 0x00080005) return [];
    let length: number;
    let header: number;
    if (implicitVr) {
      length = view.getUint32(pos + 4, true);
      header = 8;
    } else {
      const vr = String.fromCharCode(bytes[pos + 4]!, bytes[pos + 5]!);
      const long = ['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT', 'SV', 'UV'].includes(vr);
      if (long && pos + 12 > bytes.length) return [];
      length = long ? view.getUint32(pos + 8, true) : view.getUint16(pos + 6, true);
      header = long ? 12 : 8;
    }
    if (length === 0xffffffff || pos + header + length > bytes.length) return [];
    if (tag === 0x00080005) {
      return String.fromCharCode(...bytes.subarray(pos + header, pos + header + length))
        .replace(/[\0 ]+$/, '')
        .split('\\')
        .map((v) => v.trim());
    }
    pos += header + length;
  }
  return [];
}
