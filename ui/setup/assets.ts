import { readFileSync } from 'node:fs';

/** The setup screens' static files and the on-screen keyboard's bundle, read once at start: no CDN. */
export interface SetupAsset {
  body: string;
  contentType: string;
}

const OWN: Record<string, string> = {
  'setup.js': 'text/javascript; charset=utf-8',
  'setup.css': 'text/css; charset=utf-8',
};
const KEYBOARD: Record<string, string> = {
  'clavier.js': 'text/javascript; charset=utf-8',
  'clavier.css': 'text/css; charset=utf-8',
};

export function loadSetupAssets(): Map<string, SetupAsset> {
  const out = new Map<string, SetupAsset>();
  for (const [name, contentType] of Object.entries(OWN)) out.set(name, { body: readFileSync(new URL(`./assets/${name}`, import.meta.url), 'utf8'), contentType });
  for (const [name, contentType] of Object.entries(KEYBOARD)) {
    let body: string;
    try {
      body = readFileSync(new URL(`../keyboard/dist/${name}`, import.meta.url), 'utf8');
    } catch (err) {
      throw new Error(`on-screen keyboard bundle ui/keyboard/dist/${name} missing (run npm run build:ui): ${(err as Error).message}`);
    }
    out.set(name, { body, contentType });
  }
  return out;
}
