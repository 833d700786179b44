import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Hl7ParseError } from '../../appliance/src/hl7/errors.js';
import { escapeHl7, unescapeHl7, defaultSeparators } from '../../appliance/src/hl7/escape.js';
import { parseHl7Message } from '../../appliance/src/hl7/parse.js';

const reference = new URL('../fixtures/reference/', import.meta.url);
const fixture = (path: string) => readFileSync(new URL(path, reference));
const msg = (segments: string[], encoding: BufferEncoding = 'utf8') => Buffer.from(segments.join('\r') + '\r', encoding);
const MSH = (msh18 = 'UNICODE UTF-8', type = 'ORU^R01^ORU_R01', version = '2.5') => `MSH|^~\\&|RIS|SITE|DRIMBOX|SITE|20240115120000||${type}|CTRL-1|P|${version}|||||FRA|${msh18}`;

function parseError(bytes: Buffer): Hl7ParseError {
  try {
    parseHl7Message(bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(Hl7ParseError);
    return err as Hl7ParseError;
  }
  throw new Error('expected an Hl7ParseError');
}

describe('HL7 v2 structure', () => {
  it('reads fields, repetitions, components and subcomponents with the standard numbering', () => {
    const m = parseHl7Message(msg([MSH(), 'PID|||279035121518989^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.10&ISO^INS~IPP101^^^AUT&1.2.3&ISO^PI||PAT-TROIS^DOMINIQUE^^^^^L']));
    expect(m.event).toBe('ORU^R01');
    expect(m.messageStructure).toBe('ORU_R01');
    expect(m.controlId).toBe('CTRL-1');
    expect(m.version).toBe('2.5');
    expect(m.header.get(1)).toBe('|');
    expect(m.header.get(2)).toBe('^~\\&');
    expect(m.header.get(3)).toBe('RIS');
    const pid = m.segment('PID')!;
    expect(pid.field(3).repetitions).toHaveLength(2);
    expect(pid.field(3).repetitions[1]!.get(1)).toBe('IPP101');
    expect(pid.get(3, 4, 2)).toBe('1.2.250.1.213.1.4.10');
    expect(pid.get(3, 5)).toBe('INS');
    expect(pid.get(5, 1)).toBe('PAT-TROIS');
    expect(pid.get(5, 7)).toBe('L');
    expect(pid.get(40)).toBe('');
    expect(pid.location(3, 4, 2)).toBe('PID^1^3^2^4');
    expect(pid.location(3)).toBe('PID^1^3');
  });

  it('takes the separators from MSH-1 and MSH-2, whatever they are', () => {
    const m = parseHl7Message(Buffer.from('MSH#@!$%#RIS#SITE#DB#SITE#20240101##ORU@R01#9#P#2.5\rPID###A@B@C%D!X@Y#\r'));
    expect(m.separators).toEqual({ field: '#', component: '@', repetition: '!', escape: '$', subcomponent: '%' });
    const pid = m.segment('PID')!;
    expect(pid.get(3, 3, 2)).toBe('D');
    expect(pid.field(3).repetitions[1]!.get(2)).toBe('Y');
    expect(m.event).toBe('ORU^R01');
  });

  it('tolerates CRLF and LF-only files and blank trailing lines', () => {
    for (const eol of ['\r\n', '\n', '\r']) {
      const m = parseHl7Message(Buffer.from([MSH(), 'PID|||X', 'OBR|1', '', ''].join(eol)));
      expect(m.segments.map((s) => s.name)).toEqual(['MSH', 'PID', 'OBR']);
      expect(m.segment('OBR')!.get(1)).toBe('1');
    }
  });

  it('numbers repeated segments for ERR locations', () => {
    const m = parseHl7Message(msg([MSH(), 'OBX|1|ED', 'PRT||UC', 'OBX|2|CWE', 'OBX|3|CWE']));
    expect(m.segmentsNamed('OBX').map((s) => s.location(5))).toEqual(['OBX^1^5', 'OBX^2^5', 'OBX^3^5']);
    expect(m.segment('OBX', 3)!.get(2)).toBe('CWE');
  });
});

describe('escape sequences', () => {
  const seps = defaultSeparators;
  it('resolves separators, hex bytes in the message charset and line breaks', () => {
    expect(unescapeHl7('A\\F\\B\\S\\C\\T\\D\\R\\E\\E\\F', seps, 'utf-8')).toBe('A|B^C&D~E\\F');
    expect(unescapeHl7('L\\XC3A9\\on', seps, 'utf-8')).toBe('Léon');
    expect(unescapeHl7('L\\XE9\\on', seps, 'latin1')).toBe('Léon');
    expect(unescapeHl7('ligne 1\\.br\\ligne 2\\X0D0A\\fin', seps, 'utf-8')).toBe('ligne 1\nligne 2\r\nfin');
    expect(unescapeHl7('\\H\\important\\N\\', seps, 'utf-8')).toBe('important');
  });

  it('keeps text that only looks like an escape', () => {
    expect(unescapeHl7('C:\\dossier', seps, 'utf-8')).toBe('C:\\dossier');
    expect(unescapeHl7('a\\Q\\b', seps, 'utf-8')).toBe('a\\Q\\b');
  });

  it('escapes what it writes, and unescaping gives the text back', () => {
    const text = 'Saint-Éloi & Associés | ^~\\ fin\r\nsuite';
    const escaped = escapeHl7(text, seps);
    expect(escaped).toBe('Saint-Éloi \\T\\ Associés \\F\\ \\S\\\\R\\\\E\\ fin\\.br\\suite');
    expect(unescapeHl7(escaped, seps, 'utf-8')).toBe(text.replace('\r\n', '\n'));
  });

  it('is applied on access to components', () => {
    const m = parseHl7Message(msg([MSH(), 'PRT||UC||SB||||Saint-\\XC389\\loi \\T\\ Associés^^^^^ASIP-SANTE-ST&1.2.250.1.71.4.2.2&ISO^FINEG^^^750712184']));
    expect(m.segment('PRT')!.get(8, 1)).toBe('Saint-Éloi & Associés');
    expect(m.segment('PRT')!.get(8, 10)).toBe('750712184');
  });
});

describe('MSH-18 character sets', () => {
  const name = 'LEFÈVRE-NOËL^HÉLÈNE';
  it('decodes UNICODE UTF-8 and 8859/1 bytes', () => {
    expect(parseHl7Message(msg([MSH('UNICODE UTF-8'), `PID|||X||${name}`], 'utf8')).segment('PID')!.get(5, 1)).toBe('LEFÈVRE-NOËL');
    const latin = parseHl7Message(msg([MSH('8859/1'), `PID|||X||${name}`], 'latin1'));
    expect(latin.charset).toEqual({ declared: '8859/1', encoding: 'latin1', inferred: false });
    expect(latin.segment('PID')!.get(5, 2)).toBe('HÉLÈNE');
  });

  it('reads 8859/1 as Windows RIS write it (œ at 0x9C)', () => {
    const bytes = Buffer.concat([Buffer.from(MSH('8859/1') + '\rPID|||X||C'), Buffer.of(0x9c), Buffer.from('UR\r')]);
    expect(parseHl7Message(bytes).segment('PID')!.get(5)).toBe('CœUR');
  });

  it('refuses Latin-1 bytes declared as UTF-8, naming MSH-18', () => {
    const err = parseError(msg([MSH('UNICODE UTF-8'), `PID|||X||${name}`], 'latin1'));
    expect(err.location).toBe('MSH^1^18');
    expect(err.ackCode).toBe('AR');
    expect(err.text).toMatch(/not valid UTF-8/);
  });

  it('reads UTF-8 bytes declared as 8859/1 as UTF-8 (never Ã© in a name), with a warning: a label never drops a report', () => {
    const m = parseHl7Message(msg([MSH('8859/1'), `PID|||X||${name}`], 'utf8'));
    expect(m.segment('PID')!.get(5)).toBe('LEFÈVRE-NOËL');
    expect(m.warnings.find((w) => w.startsWith('charset mislabelled'))).toMatch(/MSH-18 declares '8859\/1' but the bytes are UTF-8/);
  });

  it('infers the charset when MSH-18 is empty, and says so', () => {
    const utf8 = parseHl7Message(msg([MSH(''), `PID|||X||${name}`], 'utf8'));
    expect(utf8.charset).toEqual({ declared: '', encoding: 'utf-8', inferred: true });
    expect(utf8.segment('PID')!.get(5)).toBe('LEFÈVRE-NOËL');
    expect(utf8.warnings.join()).toMatch(/MSH-18 is empty/);
    const latin = parseHl7Message(msg([MSH(''), `PID|||X||${name}`], 'latin1'));
    expect(latin.charset.encoding).toBe('latin1');
    expect(latin.segment('PID')!.get(5)).toBe('LEFÈVRE-NOËL');
  });

  it('reads common non-standard labels with a warning, refuses unsupported sets', () => {
    const m = parseHl7Message(msg([MSH('UTF-8'), `PID|||X||${name}`]));
    expect(m.charset.encoding).toBe('utf-8');
    expect(m.warnings.join()).toMatch(/not an HL7 table 0211 value/);
    const err = parseError(msg([MSH('UNICODE UTF-16'), 'PID|||X']));
    expect(err.location).toBe('MSH^1^18');
    expect(err.hl7ErrorCode).toBe('103');
  });

  it('refuses 8-bit bytes that are not UTF-8 in a message declared ASCII; reads UTF-8 ones as UTF-8, with a warning', () => {
    expect(parseError(msg([MSH('ASCII'), `PID|||X||${name}`], 'latin1')).text).toMatch(/declares ASCII/);
    const m = parseHl7Message(msg([MSH('ASCII'), `PID|||X||${name}`], 'utf8'));
    expect(m.segment('PID')!.get(5)).toBe('LEFÈVRE-NOËL');
    expect(m.warnings.some((w) => w.startsWith('charset mislabelled'))).toBe(true);
  });

  it('skips a UTF-8 byte-order mark', () => {
    const m = parseHl7Message(Buffer.concat([Buffer.of(0xef, 0xbb, 0xbf), msg([MSH(), 'PID|||X'])]));
    expect(m.segments).toHaveLength(2);
  });
});

describe('strictness: clear reasons', () => {
  it.each([
    ['an empty frame', Buffer.alloc(0), 'MSH^1', /empty message/],
    ['a message that does not start with MSH', msg(['PID|||X', MSH()]), 'MSH^1', /does not start with an MSH segment \(starts with 'PID/],
    ['a batch', msg(['FHS|^~\\&', 'BHS|^~\\&', MSH()]), 'FHS^1', /batch/],
    ['an empty MSH-9', msg([MSH('UNICODE UTF-8', '')]), 'MSH^1^9', /MSH-9 \(message type\) is empty/],
    ['an unknown MSH-9', msg([MSH('UNICODE UTF-8', 'XYZ^R01')]), 'MSH^1^9', /'XYZ\^R01' is not an HL7 message type/],
    ['an MSH-9 without trigger', msg([MSH('UNICODE UTF-8', 'ORU')]), 'MSH^1^9', /no trigger event/],
    ['an empty MSH-10', msg(['MSH|^~\\&|A|B|C|D|20240101||ORU^R01||P|2.5']), 'MSH^1^10', /MSH-10/],
    ['an empty MSH-12', msg(['MSH|^~\\&|A|B|C|D|20240101||ORU^R01|1|P|']), 'MSH^1^12', /MSH-12/],
    ['bad encoding characters', msg(['MSH|^~|A|B|C|D|20240101||ORU^R01|1|P|2.5']), 'MSH^1^2', /encoding characters/],
    ['two messages in one frame', msg([MSH(), 'PID|||X', MSH()]), 'MSH^2', /one message per frame/],
  ])('refuses %s', (_what, bytes, location, text) => {
    const err = parseError(bytes);
    expect(err.location).toBe(location);
    expect(err.message).toMatch(text);
    expect(err.ackCode).toBe('AR');
  });

  it('refuses a line that is not a segment, giving its line number', () => {
    const err = parseError(msg([MSH(), 'PID|||X', 'this is not a segment']));
    expect(err.message).toMatch(/line 3 is not a segment/);
  });

  it('accepts site-defined Z messages and ACK without trigger', () => {
    expect(parseHl7Message(msg([MSH('UNICODE UTF-8', 'ZAM^Z01^ZAM_Z01')])).event).toBe('ZAM^Z01');
    expect(parseHl7Message(msg([MSH('UNICODE UTF-8', 'ACK'), 'MSA|AA|1'])).event).toBe('ACK');
  });
});

describe('the reference HL7 fixtures parse', () => {
  it.each([
    ['spec/hl7v2/ans-MDM_T02_CR_Radio_INIT_N1.er7', 'MDM^T02', '2.6', 'UNICODE UTF-8', 'MSH EVN PID PV1 ORC OBR TXA OBX PRT PRT OBX OBX OBX OBX OBX OBX OBX OBX OBX OBX OBX'],
    ['spec/hl7v2/ans-MDM_CR_Radio_RPLC_N1_v2.0.er7', 'MDM^T10', '2.6', 'UNICODE UTF-8', 'MSH EVN PID PV1 TXA OBX PRT PRT OBX OBX OBX OBX OBX OBX OBX OBX OBX OBX OBX'],
    ['spec/hl7v2/ans-ACK_T10_MDM_RPLC.er7', 'ACK^T10', '2.6', 'UNICODE UTF-8', 'MSH MSA'],
    ['spec/hl7v2/drim-m-data-CR_C-MDM_T02.header-only.hl7', 'MDM^T02', '2.6', 'UNICODE UTF-8', 'MSH EVN PID PV1 ORC OBR TXA OBX PRT OBX OBX OBX OBX OBX OBX OBX OBX OBX OBX'],
    ['spec/hl7v2/drim-m-data-ORU_R01_K.head-only.hl7', 'ORU^R01', '2.5', 'UNICODE UTF-8', 'MSH PID PV1 ORC OBR OBX'],
    ['ansforge/DRIM-M_DATA/informatif/hl7v2/OMI_O23-ImagingOrder.hl7', 'OMI^O23', '2.5.1', '', 'MSH PID PV1 ORC TQ1 OBR OBX IPC'],
    ['ansforge/DRIM-M_DATA/referencement-drimbox/hl7v2/examen-W/CR_W_Suppression-OMI.hl7', 'OMI^O23', '2.5.1', '', 'MSH PID PV1 ORC TQ1 OBR OBX IPC'],
  ])('%s', (path, event, version, charset, segments) => {
    const m = parseHl7Message(fixture(path));
    expect(m.event).toBe(event);
    expect(m.version).toBe(version);
    expect(m.charset.declared).toBe(charset);
    expect(m.segments.map((s) => s.name).join(' ')).toBe(segments);
  });

  it('reads the accented OBX-3 labels of the ANS MDM in UTF-8', () => {
    const m = parseHl7Message(fixture('spec/hl7v2/ans-MDM_T02_CR_Radio_INIT_N1.er7'));
    expect(m.segment('OBX', 2)!.get(3, 2)).toBe('Masqué aux professionnels de Santé');
    expect(m.segment('OBX')!.get(3, 2)).toBe("CR d'imagerie médicale");
  });
});
