import fc from 'fast-check';

/** Bytes that mean something to the parsers under test: separators, escapes, markup, DICOM tags, MIME. */
const TOKENS = ['|', '^', '&', '~', '\\', '\r', '\n', '\r\n', '\x0b', '\x1c', '<', '>', '</', '&#x', '<!DOCTYPE', ']]>', '"', '=', ';', ',', '*', '?', '%', '--', 'MSH|', '\0', '\xff', '\xfe\xff', 'DICM', 'boundary=', ';q=', '\u00e9', '\uffff'].map((t) => Buffer.from(t, 'latin1'));

type Op =
  | { kind: 'flip'; at: number; value: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'token'; at: number; token: number }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'repeat'; at: number; length: number; times: number }
  | { kind: 'truncate'; at: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 16 }) }),
  fc.record({ kind: fc.constant('token' as const), at: fc.nat(), token: fc.nat({ max: TOKENS.length - 1 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 32 }), times: fc.integer({ min: 2, max: 64 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

function apply(input: Buffer, o: Op): Buffer {
  const at = input.length ? o.at % (input.length + 1) : 0;
  switch (o.kind) {
    case 'flip': {
      if (!input.length) return input;
      const out = Buffer.from(input);
      out[at % input.length] = o.value;
      return out;
    }
    case 'insert':
      return Buffer.concat([input.subarray(0, at), Buffer.from(o.bytes), input.subarray(at)]);
    case 'token':
      return Buffer.concat([input.subarray(0, at), TOKENS[o.token]!, input.subarray(at)]);
    case 'delete':
      return Buffer.concat([input.subarray(0, at), input.subarray(at + o.length)]);
    case 'repeat': {
      const piece = input.subarray(at, at + o.length);
      return Buffer.concat([input.subarray(0, at), ...Array<Buffer>(o.times).fill(piece), input.subarray(at)]);
    }
    case 'truncate':
      return input.subarray(0, at);
  }
}

/** Valid seeds bent by a few mutations, and now and then bytes with no seed at all. */
export function mutatedInputs(seeds: readonly Buffer[]): fc.Arbitrary<Buffer> {
  const bent = fc
    .record({ seed: fc.nat({ max: Math.max(0, seeds.length - 1) }), ops: fc.array(op, { minLength: 1, maxLength: 8 }) })
    .map(({ seed, ops }) => ops.reduce(apply, seeds[seed] ?? Buffer.alloc(0)));
  const raw = fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b));
  return fc.oneof({ arbitrary: bent, weight: 9 }, { arbitrary: raw, weight: 1 });
}
