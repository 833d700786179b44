import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { UpstreamInstance } from './upstream/types.js';

/** An instance's bytes on disk (written there when the upstream streamed it), and how to clean it up. */
export interface SpooledInstance {
  path: string;
  release(): Promise<void>;
}

export async function spool(instance: UpstreamInstance, tempDir: string): Promise<SpooledInstance> {
  if (instance.path) return { path: instance.path, release: () => instance.dispose() };
  await mkdir(tempDir, { recursive: true });
  const dir = await mkdtemp(join(tempDir, 'spool-'));
  const path = join(dir, 'instance.dcm');
  try {
    await pipeline(Readable.from(instance.body(), { objectMode: false }), createWriteStream(path));
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    await instance.dispose();
    throw err;
  }
  return {
    path,
    release: async () => {
      await rm(dir, { recursive: true, force: true });
      await instance.dispose();
    },
  };
}
