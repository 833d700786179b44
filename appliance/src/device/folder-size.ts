import { opendir, lstat } from 'node:fs/promises';
import { join } from 'node:path';

const MAX_ENTRIES = 500_000;

/**
 * A folder's size, walked in the background at most once per `maxAgeMs` and read from the last walk: the status
 * screen never waits for a walk, and a huge cache never blocks the event loop (async reads, bounded entries).
 */
export class FolderSize {
  private bytes: number | undefined;
  private walkedAt = 0;
  private walking: Promise<void> | undefined;

  constructor(
    private readonly dir: string,
    private readonly maxAgeMs = 60_000,
  ) {}

  /** The last known size (undefined before the first walk ends); starts a new walk when the last is stale. */
  current(): number | undefined {
    if (!this.walking && Date.now() - this.walkedAt > this.maxAgeMs) {
      this.walking = this.walk()
        .then((bytes) => {
          this.bytes = bytes;
        })
        .catch(() => undefined)
        .finally(() => {
          this.walkedAt = Date.now();
          this.walking = undefined;
        });
    }
    return this.bytes;
  }

  private async walk(): Promise<number> {
    let total = 0;
    let seen = 0;
    const pending = [this.dir];
    while (pending.length && seen < MAX_ENTRIES) {
      const dir = pending.pop()!;
      let handle;
      try {
        handle = await opendir(dir);
      } catch {
        continue;
      }
      for await (const entry of handle) {
        if (++seen > MAX_ENTRIES) break;
        const path = join(dir, entry.name);
        if (entry.isDirectory()) pending.push(path);
        else if (entry.isFile()) total += (await lstat(path).catch(() => ({ size: 0 }))).size;
      }
    }
    return total;
  }
}
