import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** The on-screen keyboard's bundle (ui/keyboard/build.ts), served by the box itself: no CDN. */
export interface KeyboardAssets {
  js: string;
  css: string;
}

/** Reads dist/clavier.js and dist/clavier.css next to this module (or in `dir`, a folder URL ending in "/"). */
export async function loadKeyboardAssets(dir: URL = new URL('./dist/', import.meta.url)): Promise<KeyboardAssets> {
  const read = async (name: string): Promise<string> => {
    const url = new URL(name, dir);
    try {
      return await readFile(url, 'utf8');
    } catch (err) {
      throw new Error(`on-screen keyboard bundle ${fileURLToPath(url)} unreadable (run npm run build:ui): ${(err as Error).message}`);
    }
  };
  const [js, css] = await Promise.all([read('clavier.js'), read('clavier.css')]);
  return { js, css };
}
