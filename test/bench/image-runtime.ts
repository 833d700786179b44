import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * How the appliance image runs Node (os-image/appliance/Dockerfile): the benches start the box's processes the same
 * way, so that what they measure is what ships.
 */

const DOCKERFILE = join(import.meta.dirname, '../../os-image/appliance/Dockerfile');

/** The Node flags of the image's CMD. */
export function imageNodeFlags(): string[] {
  const cmd = /^CMD (\[.*\])$/m.exec(readFileSync(DOCKERFILE, 'utf8'));
  const argv = cmd ? (JSON.parse(cmd[1]!) as string[]) : [];
  return argv[0] === 'node' ? argv.slice(1).filter((a) => a.startsWith('--')) : [];
}

/** The image's glibc malloc settings (`ENV MALLOC_…=…`), which shape the RSS measured. */
export function imageMallocEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of readFileSync(DOCKERFILE, 'utf8').matchAll(/^ENV (MALLOC_[A-Z_]+)=(\S+)$/gm)) env[m[1]!] = m[2]!;
  return env;
}
