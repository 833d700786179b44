/**
 * Synthetic study generator throughput. Prints figures, asserts nothing.
 *   npx tsx test/bench/synth-bench.ts [label filter]
 *   SYNTH_BENCH_DIR=/dev/shm npx tsx test/bench/synth-bench.ts    (RAM disk: the generator's own speed, not the disk's)
 * Each scenario runs in its own Node process so that its peak RSS is its own.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { synthesizeStudy, type SynthModality } from '../../appliance/src/dicom/synth/index.js';

interface Scenario {
  label: string;
  modality: SynthModality;
  instances: number;
  seriesCount: number;
  rows: number;
  columns: number;
}

const SCENARIOS: Scenario[] = [
  { label: 'ANS performance set shape', modality: 'CT', instances: 1300, seriesCount: 1, rows: 512, columns: 512 },
  { label: 'ANS shape, 4 series', modality: 'CT', instances: 1300, seriesCount: 4, rows: 512, columns: 512 },
  { label: 'large study, full size', modality: 'CT', instances: 5000, seriesCount: 4, rows: 512, columns: 512 },
  { label: 'large study, small images', modality: 'CT', instances: 5000, seriesCount: 4, rows: 256, columns: 256 },
  { label: 'MR brain, 3 sequences', modality: 'MR', instances: 600, seriesCount: 3, rows: 256, columns: 256 },
  { label: 'CR skull, 2 views', modality: 'CR', instances: 20, seriesCount: 2, rows: 2000, columns: 1600 },
];

interface Measure {
  seconds: number;
  files: number;
  bytes: number;
  peakRssMb: number;
}

async function runOne(s: Scenario): Promise<Measure> {
  const outDir = mkdtempSync(join(parentDir, 'synth-bench-'));
  try {
    const started = performance.now();
    const result = await synthesizeStudy({ modality: s.modality, instances: s.instances, seriesCount: s.seriesCount, rows: s.rows, columns: s.columns, outDir, seed: 1 });
    const seconds = (performance.now() - started) / 1000;
    const bytes = s.instances * (s.rows * s.columns * 2);
    return { seconds, files: result.files.length, bytes, peakRssMb: process.resourceUsage().maxRSS / 1024 };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

const self = fileURLToPath(import.meta.url);
const parentDir = process.env.SYNTH_BENCH_DIR ?? tmpdir();
const scenarioArg = process.argv.indexOf('--scenario');

if (scenarioArg >= 0) {
  const scenario = JSON.parse(process.argv[scenarioArg + 1]!) as Scenario;
  process.stdout.write(JSON.stringify(await runOne(scenario)) + '\n');
} else {
  const only = process.argv[2];
  console.log(`synth bench — node ${process.version}, writing under ${parentDir}; peak RSS includes ~95 MB of tsx + dcmjs`);
  console.log('scenario                         | modality | instances | size      | series | seconds | inst/s | MB/s (pixels) | peak RSS MB');
  for (const s of SCENARIOS.filter((x) => !only || x.label.includes(only))) {
    const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--scenario', JSON.stringify(s)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const m = JSON.parse(out.trim().split('\n').pop()!) as Measure;
    console.log(
      [
        s.label.padEnd(32),
        s.modality.padEnd(8),
        String(s.instances).padStart(9),
        `${s.rows}×${s.columns}`.padEnd(9),
        String(s.seriesCount).padStart(6),
        m.seconds.toFixed(2).padStart(7),
        (m.files / m.seconds).toFixed(0).padStart(6),
        (m.bytes / 1e6 / m.seconds).toFixed(0).padStart(13),
        m.peakRssMb.toFixed(0).padStart(11),
      ].join(' | '),
    );
  }
}
