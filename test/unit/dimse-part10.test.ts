import { describe, expect, it, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { encodeFileMeta, readPart10Header, peekStudyInstanceUid, NotPart10Error } from '../../appliance/src/dimse/part10.js';
import { instancePath, isValidUid } from '../../appliance/src/dimse/uid.js';
import { makeMiniStudy, IMPLICIT_VR_LE } from '../fixtures/mini-instances.js';

const dir = mkdtempSync(join(tmpdir(), 'dimse-part10-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('UIDs and instance paths', () => {
  it('accepts UIDs and refuses anything else', () => {
    expect(isValidUid('1.2.840.10008.5.1.4.1.1.2')).toBe(true);
    expect(isValidUid('2.25.' + '9'.repeat(59))).toBe(true);
    expect(isValidUid('2.25.' + '9'.repeat(60))).toBe(false); // 65 characters
    for (const bad of ['', '1..2', '.1.2', '1.2.', '1.2.a', '../1.2', '1.2/3', '1.2\0', ' 1.2', 42, undefined]) {
      expect(isValidUid(bad), String(bad)).toBe(false);
    }
  });

  it('names a file after the SOP Instance UID and never outside its folder', () => {
    expect(instancePath('/data/in', '1.2.3')).toBe('/data/in/1.2.3.dcm');
    expect(() => instancePath('/data/in', '../../etc/passwd')).toThrow(/invalid SOP Instance UID/);
    expect(() => instancePath('/data/in', '1.2/../../x')).toThrow(/invalid SOP Instance UID/);
    expect(() => instancePath('/data/in', '..')).toThrow(/invalid SOP Instance UID/);
  });
});

describe('Part-10 File Meta Information', () => {
  it('writes a meta header that dcmtk reads, and reads it back', async () => {
    const meta = encodeFileMeta({ sopClassUid: '1.2.840.10008.5.1.4.1.1.2', sopInstanceUid: '1.2.3.4', transferSyntaxUid: '1.2.840.10008.1.2.4.80', sourceAeTitle: 'ORTHANC' });
    // A one-element dataset after it: (0008,0018) UI "1.2.3.4" in JPEG-LS's explicit VR little endian encoding.
    const dataset = Buffer.from([0x08, 0x00, 0x18, 0x00, 0x55, 0x49, 0x08, 0x00, ...Buffer.from('1.2.3.4\0', 'latin1')]);
    const file = join(dir, 'meta.dcm');
    writeFileSync(file, Buffer.concat([meta, dataset]));
    const dump = execFileSync('dcmdump', ['-M', file]).toString();
    expect(dump).toContain('(0002,0010) UI =JPEGLSLossless');
    expect(dump).toContain('(0002,0016) AE [ORTHANC]');
    expect(dump).toContain('(0002,0003) UI [1.2.3.4]');
    const header = await readPart10Header(file);
    expect(header).toMatchObject({ sopClassUid: '1.2.840.10008.5.1.4.1.1.2', sopInstanceUid: '1.2.3.4', transferSyntaxUid: '1.2.840.10008.1.2.4.80' });
    expect(readFileSync(file).subarray(header.datasetOffset)).toEqual(dataset);
  });

  it('reads the header of files written by dcmjs, and refuses what is not Part-10', async () => {
    const study = await makeMiniStudy({ outDir: join(dir, 'mini'), instances: 1 });
    const header = await readPart10Header(study.files[0]!);
    expect(header.sopInstanceUid).toBe(study.series[0]!.instances[0]!.sopInstanceUid);
    expect(header.transferSyntaxUid).toBe('1.2.840.10008.1.2.1');
    const text = join(dir, 'text.dcm');
    writeFileSync(text, 'x'.repeat(400));
    await expect(readPart10Header(text)).rejects.toBeInstanceOf(NotPart10Error);
    await expect(readPart10Header(text)).rejects.toThrow(/no "DICM"/);
  });
});

describe('peekStudyInstanceUid', () => {
  const study = '1.2.826.0.1.3680043.10.1558.42';
  const uid = Buffer.from(study + (study.length % 2 ? '\0' : ''), 'latin1');
  const explicitEl = (group: number, el: number, vr: string, value: Buffer) => {
    const long = ['SQ', 'OB', 'UN', 'UT'].includes(vr);
    const h = Buffer.alloc(long ? 12 : 8);
    h.writeUInt16LE(group, 0);
    h.writeUInt16LE(el, 2);
    h.write(vr, 4, 'latin1');
    if (long) h.writeUInt32LE(value.length === 0 ? 0xffffffff : value.length, 8);
    else h.writeUInt16LE(value.length, 6);
    return Buffer.concat([h, value]);
  };
  const tag = (group: number, el: number, length: number) => {
    const b = Buffer.alloc(8);
    b.writeUInt16LE(group, 0);
    b.writeUInt16LE(el, 2);
    b.writeUInt32LE(length >>> 0, 4);
    return b;
  };

  it('walks past an undefined-length sequence to the Study Instance UID (explicit VR)', () => {
    const item = Buffer.concat([tag(0xfffe, 0xe000, 0xffffffff), explicitEl(0x0008, 0x1150, 'UI', Buffer.from('1.2\0', 'latin1')), tag(0xfffe, 0xe00d, 0)]);
    const sequence = Buffer.concat([explicitEl(0x0008, 0x1140, 'SQ', Buffer.alloc(0)), item, tag(0xfffe, 0xe0dd, 0)]);
    const ds = Buffer.concat([explicitEl(0x0008, 0x0060, 'CS', Buffer.from('CT')), sequence, explicitEl(0x0020, 0x000d, 'UI', uid)]);
    expect(peekStudyInstanceUid(ds, '1.2.840.10008.1.2.1')).toBe(study);
    expect(peekStudyInstanceUid(ds.subarray(0, ds.length - 4), '1.2.840.10008.1.2.1')).toBe('more');
    expect(peekStudyInstanceUid(ds, '1.2.840.10008.1.2.1.99')).toBeUndefined();
    // Every cut before the end of the UID asks for more: inside a header, a value, the sequence or its items.
    for (let n = 0; n < ds.length; n++) expect(peekStudyInstanceUid(ds.subarray(0, n), '1.2.840.10008.1.2.1'), `cut at ${n}`).toBe('more');
  });

  it('gives up on a later tag, bytes that are not a VR, and sequences nested without end', () => {
    const rows = explicitEl(0x0028, 0x0010, 'US', Buffer.from([0, 2]));
    expect(peekStudyInstanceUid(Buffer.concat([rows, explicitEl(0x0020, 0x000d, 'UI', uid)]), '1.2.840.10008.1.2.1')).toBeUndefined();
    const notVr = explicitEl(0x0008, 0x0060, 'C1', Buffer.from('CT'));
    expect(peekStudyInstanceUid(Buffer.concat([notVr, explicitEl(0x0020, 0x000d, 'UI', uid)]), '1.2.840.10008.1.2.1')).toBeUndefined();
    const open = Buffer.concat([explicitEl(0x0008, 0x1140, 'SQ', Buffer.alloc(0)), tag(0xfffe, 0xe000, 0xffffffff)]);
    const nested = Buffer.concat(Array.from({ length: 10_000 }, () => open));
    expect(peekStudyInstanceUid(nested, '1.2.840.10008.1.2.1')).toBeUndefined();
    expect(peekStudyInstanceUid(explicitEl(0x0020, 0x000d, 'UI', Buffer.from('1.2.x\0', 'latin1')), '1.2.840.10008.1.2.1')).toBeUndefined();
  });

  it('reads it from an Explicit VR Big Endian dataset', () => {
    const be = (group: number, el: number, vr: string, value: Buffer) => {
      const h = Buffer.alloc(8);
      h.writeUInt16BE(group, 0);
      h.writeUInt16BE(el, 2);
      h.write(vr, 4, 'latin1');
      h.writeUInt16BE(value.length, 6);
      return Buffer.concat([h, value]);
    };
    const ds = Buffer.concat([be(0x0008, 0x0060, 'CS', Buffer.from('CT')), be(0x0020, 0x000d, 'UI', uid)]);
    expect(peekStudyInstanceUid(ds, '1.2.840.10008.1.2.2')).toBe(study);
    expect(peekStudyInstanceUid(ds, '1.2.840.10008.1.2.1')).toBeUndefined(); // read as little endian: a later tag first
  });

  it('reads it from implicit VR files made by dcmjs', async () => {
    const s = await makeMiniStudy({ outDir: join(dir, 'implicit'), instances: 1, transferSyntaxUid: IMPLICIT_VR_LE });
    const file = s.files[0]!;
    const header = await readPart10Header(file);
    expect(header.transferSyntaxUid).toBe(IMPLICIT_VR_LE);
    expect(peekStudyInstanceUid(readFileSync(file).subarray(header.datasetOffset), IMPLICIT_VR_LE)).toBe(s.studyInstanceUid);
  });
});
