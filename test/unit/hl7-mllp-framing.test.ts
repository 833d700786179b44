import { describe, expect, it } from 'vitest';
import { frameMllp, MllpDecoder, type MllpEvent } from '../../appliance/src/hl7/mllp-framing.js';

const VT = '\x0b';
const FS = '\x1c';
const CR = '\r';
const bytes = (s: string) => Buffer.from(s, 'latin1');
const messages = (events: MllpEvent[]) => events.flatMap((e) => (e.kind === 'message' ? [e.payload.toString('latin1')] : []));

describe('MLLP framing', () => {
  it('frames a message as <VT> message <FS><CR>', () => {
    expect(frameMllp(bytes('MSH|x\r'))).toEqual(Buffer.from([0x0b, ...bytes('MSH|x\r'), 0x1c, 0x0d]));
  });

  it('reads one frame, several frames in a chunk, and frames split anywhere', () => {
    const stream = bytes(`${VT}A\r${FS}${CR}${VT}B\r${FS}${CR}${VT}C\r${FS}${CR}`);
    expect(messages(new MllpDecoder().push(stream))).toEqual(['A\r', 'B\r', 'C\r']);
    const decoder = new MllpDecoder();
    const events = [...stream].flatMap((b) => decoder.push(Buffer.of(b)));
    expect(events).toEqual([
      { kind: 'message', payload: bytes('A\r') },
      { kind: 'message', payload: bytes('B\r') },
      { kind: 'message', payload: bytes('C\r') },
    ]);
    expect(decoder.pending).toBe(false);
  });

  it('discards and counts bytes outside frames', () => {
    const decoder = new MllpDecoder();
    const events = decoder.push(bytes(`junk${VT}A${FS}${CR}\r\n more junk ${VT}B${FS}${CR}tail`));
    expect(events).toEqual([
      { kind: 'garbage', bytes: 4 },
      { kind: 'message', payload: bytes('A') },
      { kind: 'garbage', bytes: 13 },
      { kind: 'message', payload: bytes('B') },
      { kind: 'garbage', bytes: 4 },
    ]);
  });

  it('ends a frame on <FS> even without <CR>, and eats a <CR> arriving in the next chunk', () => {
    const decoder = new MllpDecoder();
    expect(messages(decoder.push(bytes(`${VT}A${FS}`)))).toEqual(['A']);
    expect(decoder.push(bytes(`${CR}${VT}B${FS}${VT}C${FS}${CR}`))).toEqual([
      { kind: 'message', payload: bytes('B') },
      { kind: 'message', payload: bytes('C') },
    ]);
  });

  it('reports a frame cut by a new start block, and keeps the new frame', () => {
    const decoder = new MllpDecoder();
    const events = decoder.push(bytes(`${VT}MSH|half a mess${VT}MSH|whole${FS}${CR}`));
    expect(events).toEqual([
      { kind: 'truncated', bytes: 15 },
      { kind: 'message', payload: bytes('MSH|whole') },
    ]);
  });

  it('reports a frame left open when the connection ends', () => {
    const decoder = new MllpDecoder();
    expect(decoder.push(bytes(`${VT}MSH|never finished`))).toEqual([]);
    expect(decoder.pending).toBe(true);
    expect(decoder.end()).toEqual([{ kind: 'truncated', bytes: 18 }]);
    expect(decoder.pending).toBe(false);
  });

  it('drops an oversize frame without holding it, keeping its head for the NACK, then goes on', () => {
    const decoder = new MllpDecoder(100);
    const head = 'MSH|^~\\&|RIS|S|DB|S|20240101||ORU^R01|BIG-1|P|2.5\r';
    const events: MllpEvent[] = [];
    events.push(...decoder.push(bytes(VT + head)));
    for (let i = 0; i < 1000; i++) {
      events.push(...decoder.push(Buffer.alloc(1000, 0x41)));
      expect(decoder.pendingBytes).toBe(head.length + (i + 1) * 1000);
    }
    events.push(...decoder.push(bytes(`${FS}${CR}${VT}small${FS}${CR}`)));
    expect(events).toHaveLength(2);
    const [oversize, next] = events;
    if (oversize?.kind !== 'oversize') throw new Error(`expected an oversize event, got ${oversize?.kind}`);
    expect(oversize.bytes).toBe(head.length + 1_000_000);
    expect(oversize.head.subarray(0, head.length).toString('latin1')).toBe(head);
    expect(oversize.head.length).toBeLessThanOrEqual(64 * 1024);
    expect(next).toEqual({ kind: 'message', payload: bytes('small') });
  });

  it('accepts a frame of exactly the maximum size', () => {
    const decoder = new MllpDecoder(10);
    expect(messages(decoder.push(bytes(`${VT}0123456789${FS}${CR}`)))).toEqual(['0123456789']);
    expect(decoder.push(bytes(`${VT}0123456789X${FS}${CR}`))[0]!.kind).toBe('oversize');
  });
});
