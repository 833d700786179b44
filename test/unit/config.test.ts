import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, defaultConfig, envName, configLeaves, ConfigError } from '../../appliance/src/config/load.js';

const tmpFile = (content: string) => {
  const f = join(mkdtempSync(join(tmpdir(), 'drimbox-cfg-')), 'config.json');
  writeFileSync(f, content);
  return f;
};

describe('configuration', () => {
  it('has sane embedded defaults', () => {
    const c = defaultConfig();
    expect(c.pacs).toMatchObject({ aeTitle: 'ORTHANC', port: 4242, retrieve: 'C-GET', maxAssociations: 4 });
    expect(c.box.aeTitle).toBe('DRIMBOX');
    expect(c.hl7.port).toBe(2575);
  });

  it('layers defaults < file < environment', () => {
    const file = tmpFile(JSON.stringify({ pacs: { host: 'pacs.lan', port: 104 }, box: { name: 'Saint-Pierre' } }));
    const c = loadConfig({ file, env: { DRIMBOX_PACS_PORT: '11113', DRIMBOX_DIMSE_ALLOWED_CALLING_AE_TITLES: 'PACS1, PACS2' } });
    expect(c.pacs.host).toBe('pacs.lan');
    expect(c.pacs.port).toBe(11113);
    expect(c.pacs.aeTitle).toBe('ORTHANC');
    expect(c.box.name).toBe('Saint-Pierre');
    expect(c.dimse.allowedCallingAeTitles).toEqual(['PACS1', 'PACS2']);
  });

  it('names the bad key, its variable and the problem', () => {
    expect(() => loadConfig({ env: { DRIMBOX_PACS_AE_TITLE: 'AN_AE_TITLE_TOO_LONG' } })).toThrow(/pacs\.aeTitle \(env DRIMBOX_PACS_AE_TITLE\)/);
    expect(() => loadConfig({ env: { DRIMBOX_HTTP_PORT: 'eighty' } })).toThrow(/DRIMBOX_HTTP_PORT: expected a number/);
    expect(() => loadConfig({ env: { DRIMBOX_PACS_RETRIEVE: 'C-PULL' } })).toThrow(/pacs\.retrieve/);
    expect(() => loadConfig({ file: tmpFile('{"pacs": {"hots": "x"}}'), env: {} })).toThrow(/unknown configuration key\(s\): pacs\.hots/);
    expect(() => loadConfig({ file: tmpFile('{not json'), env: {} })).toThrow(ConfigError);
    expect(() => loadConfig({ file: '/nonexistent/config.json', env: {} })).toThrow(/cannot read config file/);
  });

  it('derives variable names from the schema', () => {
    expect(envName(['pacs', 'aeTitle'])).toBe('DRIMBOX_PACS_AE_TITLE');
    expect(envName(['box', 'publicBaseUrl'])).toBe('DRIMBOX_BOX_PUBLIC_BASE_URL');
  });

  it('is documented in the README, every key', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const missing = configLeaves().filter((l) => !readme.includes(`\`${l.env}\``)).map((l) => l.env);
    expect(missing).toEqual([]);
  });
});
