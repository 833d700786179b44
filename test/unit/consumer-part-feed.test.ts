import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PartFeed } from '../../appliance/src/consumer/part-feed.js';
import { lentChunk, takeGiveBack } from '../../appliance/src/dicomweb/lent-chunks.js';
import { MultipartError } from '../../appliance/src/dicomweb/multipart-scanner.js';
import { NotPart10Error, parsePart10Meta } from '../../appliance/src/dicomweb/part10-peek.js';

/** The consumer's multipart reader (PartFeed over the synchronous scanner), fed in every possible split. */

const files = ['JPEGLSNearLossless_08.dcm', 'CR_monochrome1_6154.dcm', 'SC_rgb_rle_2frame.dcm'].map((f) => readFileSync(`test/fixtures/real-world/${f}`));
const BOUNDARY = 'b0und';

function multipart(parts: Buffer[], epilogue = ''): Buffer {
  const pieces: Buffer[] = [Buffer.from('preamble to ignore\r\n')];
  for (const p of parts) pieces.push(Buffer.from(`--${BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n`), p, Buffer.from('\r\n'));
  pieces.push(Buffer.from(`--${BOUNDARY}--\r\n${epilogue}`));
  return Buffer.concat(pieces);
}

function feedOf(chunks: Buffer[], failure?: (err: unknown) => unknown): PartFeed {
  let i = 0;
  return new PartFeed(BOUNDARY, async () => chunks[i++], failure);
}

/** Every part read to its end (or only those `wanted`), as received. */
async function readAll(feed: PartFeed, wanted?: (index: number) => boolean): Promise<{ sop?: string; bytes?: Buffer }[]> {
  const out: { sop?: string; bytes?: Buffer }[] = [];
  for (let part = await feed.next(), i = 0; part; part = await feed.next(), i++) {
    if (wanted && !wanted(i)) {
      out.push({ sop: part.meta.sopInstanceUid });
    } else {
      const chunks: Uint8Array[] = [];
      for await (const c of part.body) chunks.push(c);
      out.push({ sop: part.meta.sopInstanceUid, bytes: Buffer.concat(chunks) });
    }
    await feed.finishPart();
  }
  return out;
}

const sopOf = (f: Buffer) => {
  const parsed = parsePart10Meta(f);
  if (typeof parsed === 'string') throw new Error('fixture without meta');
  return parsed.meta.sopInstanceUid;
};

describe('PartFeed: the series answer read through the synchronous scanner', () => {
  const whole = multipart(files);

  it('gives every part with its meta and exact bytes, whatever the chunking (split at every byte position)', async () => {
    // Compared as text: a deep comparison of buffers at every split would be slow.
    const expected = files.map((f) => `${sopOf(f)} ${f.toString('hex')}`).join('\n');
    const text = (parts: { sop?: string; bytes?: Buffer }[]) => parts.map((p) => `${p.sop} ${p.bytes?.toString('hex')}`).join('\n');
    const wrong: number[] = [];
    for (let at = 0; at <= whole.length; at++) {
      const got = await readAll(feedOf([whole.subarray(0, at), whole.subarray(at)].filter((c) => c.length)));
      if (text(got) !== expected) wrong.push(at);
    }
    expect(wrong).toEqual([]);
    const bytewise = Array.from({ length: whole.length }, (_, i) => whole.subarray(i, i + 1));
    expect(text(await readAll(feedOf(bytewise)))).toBe(expected);
  });

  it('skips parts left unread, even when split, and still reads the next ones whole', async () => {
    for (let at = 0; at <= whole.length; at += 7) {
      const got = await readAll(feedOf([whole.subarray(0, at), whole.subarray(at)].filter((c) => c.length)), (i) => i === 1);
      expect(got.map((p) => p.sop)).toEqual(files.map(sopOf));
      expect(got[1]!.bytes!.equals(files[1]!)).toBe(true);
      expect(got[0]!.bytes).toBeUndefined();
    }
  });

  it('an answer cut short fails, through `failure`, inside a body as between parts', async () => {
    const seen: unknown[] = [];
    const mapped = (err: unknown) => {
      seen.push(err);
      return new Error('mapped');
    };
    const cutInBody = whole.subarray(0, whole.indexOf(files[1]!) + 100);
    await expect(readAll(feedOf([cutInBody], mapped))).rejects.toThrow('mapped');
    expect(seen.at(-1)).toBeInstanceOf(MultipartError);
    const cutBetween = whole.subarray(0, whole.indexOf(files[1]!) - 10);
    await expect(readAll(feedOf([cutBetween], mapped))).rejects.toThrow('mapped');
    const failing = new PartFeed(BOUNDARY, async () => Promise.reject(new TypeError('socket closed')), mapped);
    await expect(failing.next()).rejects.toThrow('mapped');
    expect(seen.at(-1)).toBeInstanceOf(TypeError);
  });

  it('refuses a part that is not a Part-10 file', async () => {
    const bad = multipart([files[0]!, Buffer.alloc(300, 0x41)]);
    await expect(readAll(feedOf([bad]))).rejects.toBeInstanceOf(NotPart10Error);
    const short = multipart([files[0]!.subarray(0, 100)]);
    await expect(readAll(feedOf([short]))).rejects.toBeInstanceOf(NotPart10Error);
  });

  it('lends on the chunks it is lent: each source chunk is given back once every view of it the parts kept is, skipped parts included', async () => {
    // Reads of 7,000 bytes, each lent as a pooled read is; every chunk's bytes are overwritten once it is given back,
    // as a block read into again would be: a view kept past its give-back would show it.
    const source = Array.from({ length: Math.ceil(whole.length / 7000) }, (_, i) => Buffer.from(whole.subarray(i * 7000, (i + 1) * 7000)));
    const givenBack = source.map(() => 0);
    let i = 0;
    const feed = new PartFeed(BOUNDARY, async () => {
      const n = i++;
      const chunk = source[n];
      return chunk && lentChunk(chunk, () => {
        givenBack[n]!++;
        chunk.fill(0xee);
      });
    });
    const got: { sop?: string; bytes?: Buffer }[] = [];
    for (let part = await feed.next(), k = 0; part; part = await feed.next(), k++) {
      if (k === 1) got.push({ sop: part.meta.sopInstanceUid }); // skipped unread
      else {
        const copies: Buffer[] = [];
        for await (const c of part.body) {
          copies.push(Buffer.from(c));
          const giveBack = takeGiveBack(c);
          expect(giveBack).toBeTypeOf('function');
          giveBack!();
        }
        got.push({ sop: part.meta.sopInstanceUid, bytes: Buffer.concat(copies) });
      }
      await feed.finishPart();
    }
    expect(got.map((p) => p.sop)).toEqual(files.map(sopOf));
    expect(got[0]!.bytes!.equals(files[0]!)).toBe(true);
    expect(got[2]!.bytes!.equals(files[2]!)).toBe(true);
    expect(givenBack).toEqual(source.map(() => 1));
  });
});
