import { randomBytes } from 'node:crypto';

/** splitmix32: spreads a small seed over 32 bits, so that seeds 1 and 2 give unrelated streams. */
function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** xoshiro128**: fast, small-state, good enough for synthetic noise and reproducible UIDs (not for secrets). */
export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    const next = splitmix32(seed);
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
  }

  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  nextFloat(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  /** Uniform integer in [0, maxExclusive). */
  nextInt(maxExclusive: number): number {
    return Math.floor(this.nextFloat() * maxExclusive);
  }

  bytes(count: number): Uint8Array {
    const out = new Uint8Array(count);
    for (let i = 0; i < count; i += 4) {
      const v = this.nextUint32();
      for (let k = 0; k < 4 && i + k < count; k++) out[i + k] = (v >>> (8 * k)) & 0xff;
    }
    return out;
  }

  /** An independent generator derived from this one (one per concern, so they don't shift each other). */
  fork(): SeededRandom {
    return new SeededRandom(this.nextUint32());
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

export function randomSeed(): number {
  return randomBytes(4).readUInt32LE(0);
}

/** Maps any safe integer onto a 32-bit seed. */
export function normalizeSeed(seed: number): number {
  return Number(BigInt.asUintN(32, BigInt(seed)));
}

export const NOISE_TABLE_SIZE = 1 << 16;

/**
 * Gaussian noise samples (Box–Muller), rounded. Rendering reads a table at a random offset per row:
 * one generator call per row instead of one per pixel.
 */
export function gaussianNoiseTable(random: SeededRandom, sigma: number): Int16Array {
  const table = new Int16Array(NOISE_TABLE_SIZE);
  for (let i = 0; i < NOISE_TABLE_SIZE; i += 2) {
    const u1 = 1 - random.nextFloat();
    const u2 = random.nextFloat();
    const r = sigma * Math.sqrt(-2 * Math.log(u1));
    table[i] = Math.round(r * Math.cos(2 * Math.PI * u2));
    table[i + 1] = Math.round(r * Math.sin(2 * Math.PI * u2));
  }
  return table;
}
