import { describe, expect, it } from 'vitest';
import { FaultController } from '../peers/dmp-sim/faults.js';
import { checkDtm, checkXon, parseReferenceId } from '../peers/dmp-sim/hl7-types.js';
import { parseValue } from '../peers/dmp-sim/iti18.js';
import { parseInsCx } from '../peers/dmp-sim/ins.js';

describe('DMP simulator value rules', () => {
  it('accepts an INS CX only with a valid key, an INS OID and ^NH', () => {
    expect(parseInsCx('279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH')).toEqual({ ins: '279035121518989', oid: '1.2.250.1.213.1.4.10' });
    expect(parseInsCx('279035121518988^^^&1.2.250.1.213.1.4.10&ISO^NH')).toMatch(/control key/);
    expect(parseInsCx('279035121518989^^^&1.2.250.1.213.1.4.99&ISO^NH')).toMatch(/not an INS OID/);
    expect(parseInsCx('279035121518989^^^&1.2.250.1.213.1.4.10&ISO^PI')).toMatch(/not an INS in CX form/);
    // Corsica: 2A counts as 19 in the key.
    const body = '185072A123456';
    const key = String(97n - (BigInt(body.replace('2A', '19')) % 97n)).padStart(2, '0');
    expect(parseInsCx(`${body}${key}^^^&1.2.250.1.213.1.4.8&ISO^NH`)).toEqual({ ins: `${body}${key}`, oid: '1.2.250.1.213.1.4.8' });
  });

  it('checks DTM, XON and referenceIdList CXi values', () => {
    expect(checkDtm('20260115101500', 14)).toBeUndefined();
    expect(checkDtm('202601151015', 14)).toMatch(/at least 14/);
    expect(checkDtm('20261315', 8)).toMatch(/month 13/);
    expect(checkXon('CABINET^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^499700367909006')).toBeUndefined();
    expect(checkXon('CABINET^^^^^^IDNST^^^499700367909006')).toMatch(/XON\.6/);
    expect(parseReferenceId('ACC1^^^&1.2.3&ISO^urn:ihe:iti:xds:2013:accession')).toEqual({ id: 'ACC1', authority: '1.2.3', type: 'urn:ihe:iti:xds:2013:accession' });
    expect(parseReferenceId('ACC1^^^1.2.3^urn:ihe:iti:xds:2013:accession')).toMatch(/not a CXi/);
    // IHE allows CXi without assigning authority (a UID needs none).
    expect(parseReferenceId('1.2.3.4^^^^urn:ihe:iti:xds:2016:studyInstanceUID')).toEqual({ id: '1.2.3.4', type: 'urn:ihe:iti:xds:2016:studyInstanceUID' });
  });

  it('parses stored-query values: quoted text, numbers, lists', () => {
    expect(parseValue("('a','b''c')", 'p')).toEqual(['a', "b'c"]);
    expect(parseValue("'x^^^&1.2&ISO^NH'", 'p')).toEqual(['x^^^&1.2&ISO^NH']);
    expect(parseValue('20260101', 'p')).toEqual(['20260101']);
    expect(() => parseValue('(a,b)', 'p')).toThrow(/malformed/);
  });

  it('applies fault rules by count, by seeded probability, and in outage windows', () => {
    let now = 1_000;
    const faults = new FaultController(() => now);
    faults.set({ rules: [{ kind: 'http503', count: 2, endpoint: 'repository' }, { kind: 'latency', delayMs: 50 }] });
    expect(faults.decide('registry')).toEqual({ latencyMs: 50 });
    expect(faults.decide('repository').terminal?.kind).toBe('http503');
    expect(faults.decide('repository').terminal?.kind).toBe('http503');
    expect(faults.decide('repository').terminal).toBeUndefined();

    const draws = () => {
      faults.set({ seed: 7, rules: [{ kind: 'reset', probability: 0.3 }] });
      return Array.from({ length: 20 }, () => faults.decide('registry').terminal?.kind ?? '-');
    };
    const first = draws();
    expect(first.filter((k) => k === 'reset').length).toBeGreaterThan(0);
    expect(first.filter((k) => k === 'reset').length).toBeLessThan(20);
    expect(draws()).toEqual(first);

    faults.set({ outages: [{ kind: 'hang', inMs: 100, forMs: 1000 }] });
    expect(faults.decide('registry').terminal).toBeUndefined();
    now += 500;
    expect(faults.decide('registry').terminal?.kind).toBe('hang');
    now += 1000;
    expect(faults.decide('registry').terminal).toBeUndefined();
    expect(() => faults.set({ outages: [{ kind: 'hang' }] })).toThrow(/fromMs\+untilMs or forMs/);
  });
});
