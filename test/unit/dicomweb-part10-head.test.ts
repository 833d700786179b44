import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { indexAttributes } from '../../appliance/src/consumer/cache/attributes.js';
import { instanceToDicomJson } from '../../appliance/src/dicomweb/dicom-json.js';
import { Part10Error, scanPart10 } from '../../appliance/src/dicom/dataset/part10-scan.js';

/**
 * An instance just received is checked and indexed from its first bytes, still in memory (the consumer cache): the
 * same layout and attributes as reading the file back, and the file is not opened when those bytes hold the header.
 */

const dir = 'test/fixtures/real-world';
const files: string[] = [];
const walk = (d: string) => {
  for (const e of readdirSync(d, { withFileTypes: true })) {
    if (e.isDirectory()) walk(join(d, e.name));
    else if (e.name.endsWith('.dcm')) files.push(join(d, e.name));
  }
};
walk(dir);

const HEAD = 64 * 1024;
const MISSING = '/nonexistent/never-opened.dcm';

describe('scanPart10 and indexAttributes from the first bytes', () => {
  it('give what the file gives, on every real-world file (charsets, implicit VR, big endian, sequences), without opening it', async () => {
    expect(files.length).toBeGreaterThan(20);
    let fromMemoryAlone = 0;
    for (const path of files) {
      const bytes = readFileSync(path);
      const fromFile = await scanPart10(path).catch((err: unknown) => err);
      const head = { bytes: bytes.subarray(0, HEAD), size: bytes.length };
      if (fromFile instanceof Part10Error) {
        await expect(scanPart10(path, head), path).rejects.toBeInstanceOf(Part10Error);
        continue;
      }
      const fromHead = await scanPart10(path, head);
      expect(fromHead, path).toEqual(fromFile);
      const attributes = await indexAttributes(fromHead as Awaited<ReturnType<typeof scanPart10>>, head.bytes);
      expect(attributes, path).toEqual(await indexAttributes(fromFile as Awaited<ReturnType<typeof scanPart10>>));
      // Whole-header decoding picks the same values as decoding the indexed attributes alone.
      const whole = await instanceToDicomJson(fromHead, { bulkDataUri: () => 'x' });
      for (const [tag, value] of Object.entries(attributes.instance)) expect(whole[tag], `${path} ${tag}`).toEqual(value);
      const headerEnd = fromHead.pixelData ? fromHead.pixelData.valueOffset : bytes.length;
      if (headerEnd <= HEAD) {
        const again = await scanPart10(MISSING, head);
        expect({ ...again, path }).toEqual(fromHead);
        await indexAttributes(again, head.bytes);
        fromMemoryAlone++;
      }
    }
    expect(fromMemoryAlone).toBeGreaterThan(20);
  });

  it('read the rest from the file when the bytes kept stop inside the header, and refuse a truncated file', async () => {
    const file = files.find((f) => f.endsWith('CR_monochrome1_6154.dcm')) ?? files[0]!;
    const bytes = readFileSync(file);
    expect(await scanPart10(file, { bytes: bytes.subarray(0, 400), size: bytes.length })).toEqual(await scanPart10(file));
    await expect(scanPart10(MISSING, { bytes: bytes.subarray(0, 400), size: bytes.length })).rejects.toThrow(/ENOENT/);
    // Pixel Data longer than what was received: refused, as the file scan refuses it.
    await expect(scanPart10(MISSING, { bytes: bytes.subarray(0, bytes.length - 10), size: bytes.length - 10 })).rejects.toBeInstanceOf(Part10Error);
  });
});
