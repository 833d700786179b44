import type { ParseArgsConfig } from 'node:util';
import type { Balena } from './sdk.js';

export interface CommandContext {
  balena: Balena;
  fleet: string;
  values: Record<string, string | boolean | string[] | undefined>;
  out: (text: string) => void;
  now: Date;
}

export interface Command {
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(ctx: CommandContext): Promise<number>;
}
