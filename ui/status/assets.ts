import { readFileSync } from 'node:fs';

/** The status screen's style and script, read once at start and served by the box itself. */
export function loadStatusAssets(): Map<string, { body: string; contentType: string }> {
  const files: Record<string, string> = { 'status.css': 'text/css; charset=utf-8', 'status.js': 'text/javascript; charset=utf-8' };
  return new Map(Object.entries(files).map(([name, contentType]) => [name, { body: readFileSync(new URL(`./assets/${name}`, import.meta.url), 'utf8'), contentType }]));
}
