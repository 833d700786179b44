/**
 * Chunks lent out of a pool (io/block-pool.ts: held DIMSE instances, the relay's blocks), each with how it goes
 * back once the client's socket has taken it (writeToNodeResponse). A layer that passes chunks on unchanged keeps the
 * tag; one that does not (gzip, a web stream) never gives the block back, and the collector takes it: a pooled block
 * is reused only after the kernel has its bytes.
 */
const giveBacks = new WeakMap<Uint8Array, () => void>();

export function lentChunk<T extends Uint8Array>(chunk: T, giveBack: () => void): T {
  giveBacks.set(chunk, giveBack);
  return chunk;
}

/** The chunk's give-back, once: the caller calls it when the chunk has been sent. */
export function takeGiveBack(chunk: Uint8Array): (() => void) | undefined {
  const giveBack = giveBacks.get(chunk);
  if (giveBack) giveBacks.delete(chunk);
  return giveBack;
}
