/**
 * Synchronised scrolling of an earlier exam beside the current one: the prior's slice nearest in position along the
 * normal when both stacks carry positions, else the same relative place in the stack. Pure.
 */
export function syncedIndex(mainPositions: (number | undefined)[], mainIndex: number, priorPositions: (number | undefined)[]): number {
  const count = priorPositions.length;
  if (count === 0) return 0;
  const target = mainPositions[mainIndex];
  if (target !== undefined && priorPositions.every((p) => p !== undefined)) {
    let best = 0;
    for (let i = 1; i < count; i++) if (Math.abs(priorPositions[i]! - target) < Math.abs(priorPositions[best]! - target)) best = i;
    return best;
  }
  const mainCount = mainPositions.length;
  return mainCount <= 1 ? Math.floor((count - 1) / 2) : Math.round((mainIndex / (mainCount - 1)) * (count - 1));
}
