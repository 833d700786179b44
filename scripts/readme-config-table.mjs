// Regenerates the configuration table in README.md from the schema (run: npx tsx scripts/readme-config-table.mjs).
import { readFileSync, writeFileSync } from 'node:fs';
import { configLeaves } from '../appliance/src/config/load.ts';

const rows = ['| Key | Environment variable | Default |', '| --- | --- | --- |'];
for (const leaf of configLeaves()) rows.push(`| \`${leaf.path.join('.')}\` | \`${leaf.env}\` | \`${JSON.stringify(leaf.value)}\` |`);
const readme = readFileSync('README.md', 'utf8');
const out = readme.replace(/(<!-- config-table:start -->\n)[\s\S]*?(<!-- config-table:end -->)/, `$1${rows.join('\n')}\n$2`);
writeFileSync('README.md', out);
