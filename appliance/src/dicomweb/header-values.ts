import type { DicomJson } from '../dicom/model.js';
import { decoder as decoderFor, usesCodeExtensions } from '../dicom/dataset/iso2022.js';
import { convertElement, declareUtf8 } from './dicom-json.js';
import { hex, type Part10Layout } from '../dicom/dataset/part10-scan.js';
import { lookupAttribute } from './tags.js';
import { DEFLATED_EXPLICIT_VR_LE, EXPLICIT_VR_BE, IMPLICIT_VR_LE } from './transfer-syntax.js';

/**
 * DICOM JSON (PS3.18 F.2) of a few top-level elements with short, simple values (texts, numbers), decoded straight
 * from the bytes the scan located: no parse of the whole header. For what enters the consumer's cache by the
 * thousand. Anything less plain — a big-endian or deflated file, ISO 2022 code extensions, a sequence, an
 * unknown character set — is answered `undefined`, and the caller reads the header the general way.
 */

/** Single-byte and multi-byte character sets without code extensions (PS3.3 Table C.12-2), as WHATWG decoder labels. */
const CHARSETS: Record<string, string> = {
  '': 'latin1',
  ISO_IR_6: 'latin1',
  ISO_IR_100: 'latin1',
  ISO_IR_101: 'iso-8859-2',
  ISO_IR_109: 'iso-8859-3',
  ISO_IR_110: 'iso-8859-4',
  ISO_IR_144: 'iso-8859-5',
  ISO_IR_127: 'iso-8859-6',
  ISO_IR_126: 'iso-8859-7',
  ISO_IR_138: 'iso-8859-8',
  ISO_IR_148: 'iso-8859-9',
  ISO_IR_203: 'iso-8859-15',
  ISO_IR_166: 'tis-620',
  ISO_IR_13: 'shift_jis',
  ISO_IR_192: 'utf-8',
  GB18030: 'gb18030',
  GBK: 'gbk',
};

/** PS3.5 §6.2: texts in the default repertoire (never affected by the character set). */
const ASCII_VRS = new Set(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'TM', 'UI', 'UR']);
/** Texts in the Specific Character Set. */
const ENCODED_VRS = new Set(['LO', 'LT', 'PN', 'SH', 'ST', 'UC', 'UT']);
/** Single-valued texts: a backslash is a character, not a delimiter (PS3.5 Table 6.2-1). */
const SINGLE_VALUED = new Set(['LT', 'ST', 'UT', 'UR']);
/** Leading spaces are significant (PS3.5 Table 6.2-1): only trailing padding goes. */
const LEADING_KEPT = new Set(['LT', 'ST', 'UT', 'UC']);
const BINARY_NUMBERS: Record<string, { size: number; read: (b: Buffer, at: number) => number }> = {
  US: { size: 2, read: (b, at) => b.readUInt16LE(at) },
  SS: { size: 2, read: (b, at) => b.readInt16LE(at) },
  UL: { size: 4, read: (b, at) => b.readUInt32LE(at) },
  SL: { size: 4, read: (b, at) => b.readInt32LE(at) },
  FL: { size: 4, read: (b, at) => b.readFloatLE(at) },
  FD: { size: 8, read: (b, at) => b.readDoubleLE(at) },
};
const SPECIFIC_CHARACTER_SET = 0x00080005;

type Element = DicomJson[string];

/** Each value without its padding (PS3.5 Table 6.2-1); empty ones stay empty strings (null in JSON). */
function textValues(vr: string, raw: string): string[] {
  const parts = SINGLE_VALUED.has(vr) ? [raw] : raw.split('\\');
  return parts.map((p) => (vr === 'UI' ? p.replace(/[\0 ]+$/, '').trimStart() : LEADING_KEPT.has(vr) ? p.replace(/[\0\s]+$/, '') : p.replace(/\0+$/, '').trim()));
}

/** A PN value's component groups, as dcmjs gives them. */
function personName(v: string): Record<string, string> {
  const [alphabetic = '', ideographic = '', phonetic = ''] = v.split('=').map((g) => g.replace(/[\0 ]+$/, ''));
  return { Alphabetic: alphabetic, Ideographic: ideographic, Phonetic: phonetic };
}

/** One element's DICOM JSON, or undefined when its VR is not a plain one. */
function decode(tag: string, vr: string, value: Buffer, decoder: TextDecoder): Element | undefined {
  const binary = BINARY_NUMBERS[vr];
  if (binary) {
    if (value.length % binary.size !== 0) return undefined;
    const values: number[] = [];
    for (let at = 0; at < value.length; at += binary.size) values.push(binary.read(value, at));
    return convertElement(vr, values, tag, 0, {});
  }
  if (!ASCII_VRS.has(vr) && !ENCODED_VRS.has(vr)) return undefined;
  const texts = textValues(vr, ENCODED_VRS.has(vr) ? decoder.decode(value) : value.toString('latin1'));
  // The same JSON rules as a header read by dcmjs (dicom-json.ts): IS/DS as numbers, empty values null, none absent.
  return convertElement(vr, vr === 'PN' ? texts.map(personName) : texts, tag, 0, {});
}

/**
 * The DICOM JSON of `tags` (those present) from the file's first bytes `head`, or undefined when the header cannot
 * be read this way (the caller then parses it). Specific Character Set, when asked, is declared ISO_IR 192: the
 * texts are UTF-8 in JSON (F.2).
 */
export function headerValues(layout: Part10Layout, head: Buffer, tags: ReadonlySet<number>): DicomJson | undefined {
  // Every other transfer syntax encodes its dataset in Implicit or Explicit VR Little Endian (PS3.5 §10).
  if (layout.transferSyntaxUid === EXPLICIT_VR_BE || layout.transferSyntaxUid === DEFLATED_EXPLICIT_VR_LE) return undefined;
  const implicit = layout.transferSyntaxUid === IMPLICIT_VR_LE;
  const charsets = layout.specificCharacterSet ?? [];
  if (layout.specificCharacterSet === undefined && layout.elements.some((e) => e.tag === SPECIFIC_CHARACTER_SET)) return undefined;
  if (usesCodeExtensions(charsets)) return undefined;
  const label = CHARSETS[(charsets[0] ?? '').trim().replace(/ /g, '_')];
  if (label === undefined) return undefined;
  const decoder = decoderFor(label);
  const json: DicomJson = {};
  for (const el of layout.elements) {
    // Group lengths are not attributes in DICOM JSON.
    if (!tags.has(el.tag) || (el.tag & 0xffff) === 0) continue;
    if (el.length === undefined || el.valueOffset + el.length > head.length) return undefined;
    const tag = hex(el.tag);
    const vr = implicit ? lookupAttribute(tag)?.vr : el.vr;
    if (vr === undefined) return undefined;
    const decoded = decode(tag, vr, head.subarray(el.valueOffset, el.valueOffset + el.length), decoder);
    if (!decoded) return undefined;
    json[tag] = decoded;
  }
  return declareUtf8(json);
}
