import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// What each folder of appliance/src may import (relative imports only; packages are runtime-dependencies.test.ts's).
// Protocol code knows nothing of the box's flows, routes, storage or screens; DIMSE and DICOMweb share the DICOM
// model (dicom/) and byte plumbing (io/), not each other — except the DICOMweb upstream that is a DIMSE bridge.
const SRC = join(import.meta.dirname, '../../appliance/src');

/** Every relative import of every source file: [importing file, imported file], both relative to SRC. */
function imports(): [string, string][] {
  const out: [string, string][] = [];
  for (const entry of readdirSync(SRC, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !/\.tsx?$/.test(entry.name)) continue;
    const file = join(entry.parentPath, entry.name);
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:from|import\()\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      out.push([relative(SRC, file), relative(SRC, resolve(dirname(file), m[1]!))]);
    }
  }
  return out;
}

const folderOf = (path: string) => (path.includes('/') ? path.split('/')[0]! : '(root)');

const PROTOCOLS = ['dicom', 'dimse', 'dicomweb', 'hl7', 'xds', 'cda', 'io'];
const APPLICATION = ['http', 'consumer', 'source', 'device', 'setup', 'cli', 'store', '(root)'];

/** [folder, folders it must not import, files of it allowed to anyway]. */
const RULES: [string, string[], string[]][] = [
  ...PROTOCOLS.map((p): [string, string[], string[]] => [p, APPLICATION, []]),
  ['io', PROTOCOLS.filter((p) => p !== 'io'), []],
  ['dicom', ['dimse', 'dicomweb', 'hl7', 'xds'], []],
  ['dimse', ['dicomweb'], []],
  ['dicomweb', ['dimse'], ['dicomweb/upstream/dimse.ts']],
];

function violations(edges: [string, string][]): string[] {
  const found: string[] = [];
  for (const [from, to] of edges) {
    for (const [folder, forbidden, allowed] of RULES) {
      if (folderOf(from) === folder && forbidden.includes(folderOf(to)) && !allowed.includes(from)) found.push(`${from} imports ${to}`);
    }
  }
  return found;
}

describe('layering of appliance/src', () => {
  it('finds the imports it checks', () => {
    const edges = imports();
    expect(edges.length).toBeGreaterThan(500);
    expect(edges).toContainEqual(['dicomweb/multipart-relay.ts', 'io/block-pool.js']);
  });

  it('protocol code imports no flow, route, store or screen; DIMSE and DICOMweb do not import each other', () => {
    expect(violations(imports())).toEqual([]);
  });

  it('would report a protocol module importing the box', () => {
    expect(violations([['dimse/scp.ts', 'store/audit.js'], ['dicomweb/wado.ts', 'dimse/types.js'], ['dicomweb/upstream/dimse.ts', 'dimse/types.js']])).toEqual([
      'dimse/scp.ts imports store/audit.js',
      'dicomweb/wado.ts imports dimse/types.js',
    ]);
  });
});
