import { describe, expect, it } from 'vitest';
import { MAX_UID_LENGTH, createUid, isValidUid } from '../../appliance/src/dicom/uid.js';

describe('isValidUid (PS3.5 §9.1)', () => {
  it.each([
    '1.2.840.10008.5.1.4.1.1.2',
    '2.25.329800735698586629295641978511506172918',
    '1.2.0.3',
    '0',
    '1.2.826.0.1.3680043.10.1558',
    '1.' + '2'.repeat(62),
  ])('accepts %s', (uid) => {
    expect(isValidUid(uid)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['leading zero in a component', '1.2.03.4'],
    ['leading zero in the first component', '01.2'],
    ['empty component', '1.2..3'],
    ['trailing dot', '1.2.3.'],
    ['leading dot', '.1.2'],
    ['letters', '1.2.a.3'],
    ['space padding', '1.2.3 '],
    ['NUL padding', '1.2.3\u0000'],
    ['65 characters', '1.' + '2'.repeat(63)],
  ])('refuses %s', (_what, uid) => {
    expect(isValidUid(uid)).toBe(false);
  });
});

describe('createUid', () => {
  it('makes valid UIDs under the root, as long as 64 characters allow', () => {
    const root = '1.2.826.0.1.3680043.10.1558';
    for (let i = 0; i < 500; i++) {
      const uid = createUid(root);
      expect(isValidUid(uid)).toBe(true);
      expect(uid.startsWith(root + '.')).toBe(true);
      expect(uid.length).toBeLessThanOrEqual(MAX_UID_LENGTH);
    }
  });

  it('does not repeat itself', () => {
    const uids = new Set(Array.from({ length: 20_000 }, () => createUid('1.2.3')));
    expect(uids.size).toBe(20_000);
  });

  it('fills the room left by a long root with random digits', () => {
    const root = '1.2.826.0.1.3680043.10.1558.123456789.42';
    expect(root.length).toBe(40);
    const uid = createUid(root, () => new Uint8Array(16).fill(0xff));
    expect(uid).toBe(`${root}.${(2n ** 128n - 1n).toString().slice(0, 23)}`);
    expect(uid.length).toBe(64);
  });

  it('is reproducible with an injected random source', () => {
    const bytes = () => Uint8Array.from({ length: 16 }, (_, i) => i + 1);
    expect(createUid('1.2.3', bytes)).toBe(createUid('1.2.3', bytes));
    expect(createUid('1.2.3', bytes)).toBe(`1.2.3.${BigInt('0x0102030405060708090a0b0c0d0e0f10').toString()}`);
  });

  it('under 2.25, is the integer value of a version 4 UUID (PS3.5 B.2)', () => {
    for (let i = 0; i < 200; i++) {
      const uid = createUid('2.25');
      const hex = BigInt(uid.slice('2.25.'.length)).toString(16).padStart(32, '0');
      expect(hex[12]).toBe('4'); // version
      expect(['8', '9', 'a', 'b']).toContain(hex[16]); // RFC 4122 variant
    }
  });

  it('never starts the unique part with a zero', () => {
    const uid = createUid('1.2.3', () => new Uint8Array(16));
    expect(uid).toBe('1.2.3.0');
    const small = createUid('1.2.3', () => Uint8Array.from([...new Array<number>(15).fill(0), 7]));
    expect(small).toBe('1.2.3.7');
  });

  it('refuses an invalid root, and a root too long to leave 16 random digits', () => {
    expect(() => createUid('1.2.03')).toThrow(/not a valid UID/);
    expect(() => createUid('1.2.3.')).toThrow(/not a valid UID/);
    const tooLong = '1.2.' + '3'.repeat(44);
    expect(tooLong.length).toBe(48);
    expect(() => createUid(tooLong)).toThrow(/at least 16 are needed/);
    expect(() => createUid('1.2.' + '3'.repeat(43))).not.toThrow();
  });
});
