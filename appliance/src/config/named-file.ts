import { readFileSync } from 'node:fs';

/**
 * A file a setting (or a command's option) names, read whole. When it cannot be read, the error says which file, as
 * what, and why in one word where Node has one: `cannot read <what> <path>: ENOENT`. `fail` makes the caller's own
 * error type (a credential, a configuration error) from that message.
 */
export function readNamedFile(path: string, what: string, fail: (message: string) => Error): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw fail(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
