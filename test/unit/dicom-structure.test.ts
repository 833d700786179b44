import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { readPart10, DicomReadError } from '../../appliance/src/dicom/dataset/part10.js';
import { toDicomJson } from '../../appliance/src/dimse/dicom-json.js';
import { RawDataset } from '../../appliance/src/dimse/receive.js';
import { referencePath } from '../fixtures/reference.js';

const KOS = readFileSync(referencePath('spec/kos/bcom-test-kos.dcm'));
const IMPLICIT_VR_LE = '1.2.840.10008.1.2';

// Found by the parser fuzzing (test/fuzz): a C-FIND identifier of 79 bytes whose second element announces
// 2.36 GB. dcmjs, trusting the length, blocked the event loop for minutes on it.
const HUGE_LENGTH_IDENTIFIER = Buffer.from(
  '080005000a00000049534f5f495220313030080012 5c691a6752a58c0008000000323032323132303908001300060000003131343235360800160 01e000000312e322e3834302e31303030382e352e'.replace(/ /g, ''),
  'hex',
);

// Also found by fuzzing (100,000 inputs): command-group elements inside an identifier made dcmjs desynchronise and
// build a string past V8's limit after seconds of work (10 s on this 300-byte input).
const COMMAND_GROUP_IN_DATASET = Buffer.from(
  '080005000000000000000000000000000000000000000000000000000a00000049534f5f495220313030080012000800000032303232313230390800130006000000313134323536080016001e000000312e322e3834302e31303030382e352e312e342e312e312e38382e3539000800180038000000312e322e3237362e302e373233303031302e332e312e342e313333323536323232302e31343730302e313637303538323537362e34333800080020000800000032303036303533310800210008000000323032323132303908002300080000003230323231323039080030000e0000003135303432332e3534363030302008003100080000003230323231323039080033000600000031313432353608006000020000004b4f08007000080000005349454d454e5320',
  'hex',
);

describe('element lengths are checked before a dataset is decoded', () => {
  it('refuses at once elements that have no place in a dataset (command group, group lengths that are not UL)', () => {
    expect(() => toDicomJson(new RawDataset(COMMAND_GROUP_IN_DATASET, IMPLICIT_VR_LE))).toThrow(/element \(0000,0000\) at byte \d+ is not allowed in a dataset/);
  });

  it('refuses at once an identifier whose element announces more bytes than follow', () => {
    const read = () => toDicomJson(new RawDataset(HUGE_LENGTH_IDENTIFIER, IMPLICIT_VR_LE));
    expect(read).toThrow(DicomReadError);
    expect(read).toThrow(/announces \d+ bytes, only \d+ follow/);
  });

  it('refuses a truncated Part-10 file, naming the element', () => {
    expect(() => readPart10(KOS.subarray(0, KOS.length - 7))).toThrow(/malformed DICOM Part-10 file: (truncated element header|element \([0-9A-F]{4},[0-9A-F]{4}\) at byte \d+ announces)/);
  });

  it('walks encapsulated pixel data as fragments, and a header read that stops at Pixel Data', async () => {
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { checkPart10Structure } = await import('../../appliance/src/dicom/dataset/structure.js');
    const { makeMiniStudy } = await import('../fixtures/mini-instances.js');
    const dir = mkdtempSync(join(tmpdir(), 'structure-'));
    const study = await makeMiniStudy({ outDir: dir, instances: 1, seriesCount: 1, patientName: 'X^Y', rows: 64, columns: 64 });
    const jls = join(dir, 'jls.dcm');
    execFileSync('dcmcjpls', [study.files[0]!, jls]);
    const bytes = readFileSync(jls);
    expect(() => checkPart10Structure(bytes)).not.toThrow();
    expect(readPart10(bytes).transferSyntaxUid).toBe('1.2.840.10008.1.2.4.80');
    // A header read (a prefix of the file, up to Pixel Data) is checked up to there only.
    const pixelAt = bytes.indexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00]));
    expect(() => checkPart10Structure(bytes.subarray(0, pixelAt + 40), 0x7fe00010)).not.toThrow();
  });

  it('still reads a valid file and a valid identifier', () => {
    expect(readPart10(KOS).transferSyntaxUid).toMatch(/^1\.2\.840\.10008\.1\.2/);
    const identifier = Buffer.from('080052000600000053545544592020000d000a000000312e322e332e342e3500', 'hex'); // QueryRetrieveLevel, StudyInstanceUID
    expect(toDicomJson(new RawDataset(identifier, IMPLICIT_VR_LE))).toEqual({
      '00080052': { vr: 'CS', Value: ['STUDY'] },
      '0020000D': { vr: 'UI', Value: ['1.2.3.4.5'] },
    });
  });
});
