import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildAck, hl7Timestamp, readAck } from '../../appliance/src/hl7/ack.js';
import { parseHl7Message } from '../../appliance/src/hl7/parse.js';

const reference = new URL('../fixtures/reference/', import.meta.url);
const fixture = (path: string) => readFileSync(new URL(path, reference));
const fixed = { controlId: 'ACK-1', now: new Date(2024, 0, 15, 16, 5, 0) };
const lines = (ack: Buffer, encoding: BufferEncoding = 'utf8') => ack.toString(encoding).split('\r');

describe('buildAck', () => {
  it('answers the ANS MDM^T10 the way the ANS acknowledgment sample does', () => {
    const ack = buildAck(parseHl7Message(fixture('spec/hl7v2/ans-MDM_CR_Radio_RPLC_N1_v2.0.er7')), 'AA', undefined, fixed);
    const stamp = hl7Timestamp(fixed.now);
    expect(lines(ack)).toEqual([`MSH|^~\\&|PFI-X|Organisation-X|RIS-Y|Organisation-Y|${stamp}||ACK^T10^ACK|ACK-1|P|2.6|||||FRA|UNICODE UTF-8`, 'MSA|AA|015', '']);
    // Same shape as ansforge/hl7V2-exemples ack.er7 (which answers message 015 with MSA|AA|015).
    const ans = parseHl7Message(fixture('spec/hl7v2/ans-ACK_T10_MDM_RPLC.er7'));
    const ours = parseHl7Message(ack);
    for (const n of [9, 11, 12, 17, 18]) expect(ours.header.field(n).raw).toBe(ans.header.field(n).raw);
    expect(ours.segment('MSA')!.field(2).raw).toBe(ans.segment('MSA')!.field(2).raw);
  });

  it('writes MSA and a v2.5 ERR (location, code, severity, text) for AE and AR, escaping the text', () => {
    const msg = parseHl7Message(Buffer.from('MSH|^~\\&|RIS|SITE|DRIMBOX|SITE|20240115||ORU^R01^ORU_R01|C42|P|2.5|||||FRA|UNICODE UTF-8\rPID|||X\r'));
    const ack = buildAck(msg, 'AE', { text: 'INS missing | see PID^3', location: 'PID^1^3', hl7ErrorCode: '101' }, fixed);
    const [msh, msa, err] = lines(ack);
    expect(msh).toMatch(/^MSH\|\^~\\&\|DRIMBOX\|SITE\|RIS\|SITE\|\d{14}[+-]\d{4}\|\|ACK\^R01\^ACK\|ACK-1\|P\|2\.5\|\|\|\|\|FRA\|UNICODE UTF-8$/);
    expect(msa).toBe('MSA|AE|C42|INS missing \\F\\ see PID\\S\\3');
    expect(err).toBe('ERR||PID^1^3|101^Required field missing^HL70357|E||||INS missing \\F\\ see PID\\S\\3');
    const read = readAck(ack);
    expect(read).toEqual({ code: 'AE', controlId: 'C42', text: 'INS missing | see PID^3', errors: [{ location: 'PID^1^3', code: '101', text: 'INS missing | see PID^3' }] });
  });

  it('uses the v2.3.1 ERR-1 layout for older senders', () => {
    const msg = parseHl7Message(Buffer.from('MSH|^~\\&|XPLORE|CAB|DRIMBOX|CAB|20240116||ORU^R01|7741|P|2.3.1\r'));
    const [msh, msa, err] = lines(buildAck(msg, 'AR', { text: 'internal error', hl7ErrorCode: '207' }, fixed));
    expect(msh).toContain('|ACK^R01^ACK|ACK-1|P|2.3.1');
    expect(msa).toBe('MSA|AR|7741|internal error');
    expect(err).toBe('ERR|^^^207&Application internal error&HL70357');
    const located = lines(buildAck(msg, 'AE', { text: 'bad', location: 'OBX^1^5^1^5', hl7ErrorCode: '102' }, fixed))[2];
    expect(located).toBe('ERR|OBX^1^5^102&Data type error&HL70357');
    expect(readAck(buildAck(msg, 'AE', { text: 'bad', location: 'OBX^1^5', hl7ErrorCode: '102' }, fixed)).errors[0]).toEqual({ location: 'OBX^1^5', code: '102', text: 'Data type error' });
  });

  it('answers in the charset and separators of the message', () => {
    const raw = Buffer.from('MSH!@#$%!RIS-GAITÉ!SITE!DRIMBOX!SITE!20240115!!ORU@R01@ORU_R01!C7!P!2.5!!!!!FRA!8859/1\rPID!!!X\r', 'latin1');
    const ack = buildAck(parseHl7Message(raw), 'AE', { text: 'refusé', location: 'PID^1^3' }, fixed);
    expect(ack.includes(Buffer.from('RIS-GAITÉ', 'latin1'))).toBe(true);
    expect(ack.includes(Buffer.from('RIS-GAITÉ', 'utf8'))).toBe(false);
    const [msh, msa, err] = lines(ack, 'latin1');
    expect(msh).toMatch(/^MSH!@#\$%!DRIMBOX!SITE!RIS-GAITÉ!SITE!\d{14}[+-]\d{4}!!ACK@R01@ACK!ACK-1!P!2\.5!!!!!FRA!8859\/1$/);
    expect(msa).toBe('MSA!AE!C7!refusé');
    expect(err).toBe('ERR!!PID@1@3!207@Application internal error@HL70357!E!!!!refusé');
  });

  it('still answers bytes that are not a message: whatever MSH can be read, else a minimal header', () => {
    const mislabelled = Buffer.from('MSH|^~\\&|RIS|SITE|DRIMBOX|SITE|20240115||ORU^R01^ORU_R01|C9|P|2.5|||||FRA|UNICODE UTF-8\rPID|||X||CÔTÉ\r', 'latin1');
    const [msh, msa] = lines(buildAck(mislabelled, 'AR', { text: 'not UTF-8', location: 'MSH^1^18' }, fixed));
    expect(msh).toContain('|DRIMBOX|SITE|RIS|SITE|');
    expect(msh).toContain('|ACK^R01^ACK|ACK-1|P|2.5');
    expect(msa).toBe('MSA|AR|C9|not UTF-8');
    const garbage = lines(buildAck(Buffer.from('hello\x00world'), 'AR', { text: 'not HL7' }, fixed));
    expect(garbage[0]).toMatch(/^MSH\|\^~\\&\|\|\|\|\|\d{14}[+-]\d{4}\|\|ACK\|ACK-1\|P\|2\.5$/);
    expect(garbage[1]).toBe('MSA|AR||not HL7');
    expect(garbage[2]).toBe('ERR|||207^Application internal error^HL70357|E||||not HL7');
    expect(() => parseHl7Message(buildAck(Buffer.from('hello'), 'AR', { text: 'x' }))).not.toThrow();
  });

  it('carries a note in MSA-3 with an AA, without ERR', () => {
    const msg = parseHl7Message(fixture('spec/hl7v2/ans-MDM_T02_CR_Radio_INIT_N1.er7'));
    expect(lines(buildAck(msg, 'AA', { text: 'already received as message #12' }, fixed)).slice(1)).toEqual(['MSA|AA|015|already received as message #12', '']);
  });

  it('gives every ACK its own control id of at most 20 characters', () => {
    const msg = parseHl7Message(fixture('spec/hl7v2/ans-MDM_T02_CR_Radio_INIT_N1.er7'));
    const ids = new Set(Array.from({ length: 500 }, () => parseHl7Message(buildAck(msg, 'AA')).controlId));
    expect(ids.size).toBe(500);
    for (const id of ids) expect(id.length).toBeLessThanOrEqual(20);
  });
});

describe('readAck', () => {
  it('reads the ANS acknowledgment sample', () => {
    expect(readAck(fixture('spec/hl7v2/ans-ACK_T10_MDM_RPLC.er7'))).toEqual({ code: 'AA', controlId: '015', text: '', errors: [] });
  });

  it('refuses an answer that is not an acknowledgment', () => {
    expect(() => readAck(fixture('spec/hl7v2/ans-MDM_T02_CR_Radio_INIT_N1.er7'))).toThrow(/without MSA segment/);
  });
});
