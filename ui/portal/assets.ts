import { readFileSync } from 'node:fs';

/** The portal's static files (script and style), read once at start and served by the box itself: no CDN. */
export interface PortalAsset {
  body: string;
  contentType: string;
}

const FILES: Record<string, string> = {
  'portail.js': 'text/javascript; charset=utf-8',
  'portail.css': 'text/css; charset=utf-8',
};

export function loadPortalAssets(): Map<string, PortalAsset> {
  const out = new Map<string, PortalAsset>();
  for (const [name, contentType] of Object.entries(FILES)) {
    out.set(name, { body: readFileSync(new URL(`./assets/${name}`, import.meta.url), 'utf8'), contentType });
  }
  return out;
}
