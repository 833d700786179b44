import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The ANS WADO-RS request fixtures (read-only, test/fixtures/reference; origins in its README). */

export const SHARED = join(import.meta.dirname, '../fixtures/reference');

/** Every .txt of the ANS WADO-RS sample and dry-run folders. */
export function ansRequestFiles(): string[] {
  const roots = [join(SHARED, 'spec/wado-rs'), join(SHARED, 'ansforge/DRIM-M_DATA/echantillons-validateurs/wado-rs'), join(SHARED, 'ansforge/DRIM-M_DATA/test-a-blanc')];
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.txt')) out.push(p);
    }
  };
  roots.forEach(walk);
  return out.sort();
}

export interface HttpFixture {
  method: string;
  url: string;
  headers: [string, string][];
}

/** The request line and headers of a raw HTTP request fixture (these have no body); undefined for a response. */
export function parseHttpFixture(path: string): HttpFixture | undefined {
  const lines = readFileSync(path, 'latin1').split(/\r?\n/);
  const request = /^(GET|POST|HEAD) (\S+) HTTP\/1\.[01]$/.exec(lines[0] ?? '');
  if (!request) return undefined;
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    if (line === '') break;
    const colon = line.indexOf(':');
    if (colon > 0) headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return { method: request[1]!, url: request[2]!, headers };
}
