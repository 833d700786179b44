import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';

export interface Command {
  summary: string;
  /** Returns the process exit code. */
  run(argv: string[]): Promise<number>;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Strict option parsing: an unknown flag is a usage error, not silently ignored. */
export function parseCommandArgs<O extends Options>(argv: string[], options: O, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Options every command that talks to the box's peers accepts. */
export const configOptions = {
  config: { type: 'string', short: 'c' },
} as const;

export function configFrom(values: { config?: string | boolean | undefined }): Config {
  return loadConfig(typeof values.config === 'string' ? { file: values.config } : {});
}
