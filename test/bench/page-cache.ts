import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The same memory state before each timed run that writes hundreds of MB: dirty pages written back (`sync`), then,
 * where this process may (root), the clean page cache dropped and the folders the run reads (`readBack`: a PACS's
 * storage, a cache) read back in, so that they are page-cache hits as before.
 *
 * Why the drop: on this machine's guest, writing into memory not just freed is slow (README, "Reading the
 * figures"), so each run's writes cost more the more the previous runs left in the page cache: 1,300 files of 526 KB
 * (a pull's cache) took 0.44, 1.13, 1.65 … 2.20 s of wall time written eight times in a row, 0.43–0.57 s each time
 * after a drop. A Pi has no host to hand pages to. Without the drop, the system time of the same pull ranged
 * 0.7–2.6 s and curl's 0.4–1.9 s, and whichever ran after more cached GB looked slower.
 */
export function settle(readBack: string[] = []): void {
  execFileSync('sync');
  if (!dropPageCache()) return;
  const scratch = Buffer.allocUnsafe(1024 * 1024);
  for (const dir of readBack) readAll(dir, scratch);
}

let warned = false;

function dropPageCache(): boolean {
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '1');
    return true;
  } catch (err) {
    if (!warned) console.warn(`page cache not dropped between runs (${(err as Error).message}): figures swing with what is cached`);
    warned = true;
    return false;
  }
}

function readAll(dir: string, scratch: Buffer): void {
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const fd = openSync(join(entry.parentPath, entry.name), 'r');
    try {
      while (readSync(fd, scratch) > 0);
    } finally {
      closeSync(fd);
    }
  }
}
