import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readableChunks } from '../../appliance/src/dicomweb/readable-chunks.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('readableChunks', () => {
  it('yields the very chunks the stream emitted, never joined, even when several wait unread', async () => {
    const stream = new PassThrough();
    const sent = [Buffer.alloc(1000, 1), Buffer.alloc(2000, 2), Buffer.alloc(3000, 3)];
    const chunks = readableChunks(stream);
    for (const c of sent) stream.write(c);
    stream.end();
    await tick();
    const got: Buffer[] = [];
    for await (const c of chunks) got.push(c);
    expect(got).toHaveLength(3);
    got.forEach((c, i) => expect(c.equals(sent[i]!)).toBe(true));
  });

  it('pauses the stream past its read-ahead and resumes it as the reader takes chunks', async () => {
    const stream = new PassThrough({ highWaterMark: 1 });
    const chunks = readableChunks(stream, 4000);
    for (let i = 0; i < 10; i++) stream.write(Buffer.alloc(1000, i));
    await tick();
    expect(stream.isPaused()).toBe(true);
    let total = 0;
    for (let i = 0; i < 10; i++) {
      const next = await chunks.next();
      total += next.value!.length;
      await tick();
    }
    expect(total).toBe(10_000);
    stream.end();
    expect((await chunks.next()).done).toBe(true);
  });

  it('a stream error, or a close before the end, fails the reader; leaving early destroys the stream', async () => {
    const failing = new PassThrough();
    const a = readableChunks(failing);
    failing.destroy(new Error('reset by peer'));
    await expect(a.next()).rejects.toThrow(/reset by peer/);
    const closing = new PassThrough();
    const b = readableChunks(closing);
    closing.write(Buffer.from('x'));
    closing.destroy();
    await tick();
    await expect((async () => { for await (const _ of b) void _; })()).rejects.toThrow(/closed before its end/);
    const left = new PassThrough();
    const c = readableChunks(left);
    left.write(Buffer.from('y'));
    await c.next();
    await c.return!();
    expect(left.destroyed).toBe(true);
  });
});
