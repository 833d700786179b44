import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { configFrom, configOptions, parseCommandArgs, UsageError, type Command } from '../args.js';
import { synthesizeStudy, SynthOptionsError, type SynthOptions } from '../../dicom/synth/index.js';

const HELP = `usage: drimbox synth --modality CT|MR|CR --instances N --out DIR [options]

Writes a synthetic study (3-D Shepp-Logan head phantom) as DICOM Part-10 files, one folder per series.
Progress goes to stderr; a JSON summary goes to stdout.

  --modality CT|MR|CR        CT Image, MR Image or Computed Radiography storage
  --instances N              number of images in the study
  --out DIR                  output folder (created if missing)
  --series N                 number of series sharing the instances (default 1)
  --rows N --columns N       image size (default CT 512x512, MR 256x256, CR 2000x1600)
  --patient-name 'X^Y'       DICOM person name (default DURAND-LÉGER^Hélène)
  --patient-id ID            patient ID (default: a test INS with its issuer and OID;
                             a given ID carries no issuer unless the next two options say so)
  --patient-issuer ISSUER    Issuer of Patient ID (e.g. ASIP-SANTE-INS-NIR)
  --ins-oid OID              INS assigning authority OID (e.g. 1.2.250.1.213.1.4.10, INS-NIR test)
  --charset CS               'ISO_IR 192' (UTF-8, default) or 'ISO_IR 100' (Latin-1)
  --accession A              accession number (default: generated)
  --study-uid UID            Study Instance UID (default: generated)
  --uid-root ROOT            root of generated UIDs (default: box.uidRoot from the configuration)
  --transfer-syntax TS       explicit-le (default) or implicit-le
  --seed N                   same seed, same options: byte-identical files
  -c, --config FILE          configuration file (for box.uidRoot)
`;

const options = {
  ...configOptions,
  modality: { type: 'string' },
  instances: { type: 'string' },
  out: { type: 'string', short: 'o' },
  series: { type: 'string' },
  rows: { type: 'string' },
  columns: { type: 'string' },
  'patient-name': { type: 'string' },
  'patient-id': { type: 'string' },
  'patient-issuer': { type: 'string' },
  'ins-oid': { type: 'string' },
  charset: { type: 'string' },
  accession: { type: 'string' },
  'study-uid': { type: 'string' },
  'uid-root': { type: 'string' },
  'transfer-syntax': { type: 'string' },
  seed: { type: 'string' },
} as const;

function integer(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^[0-9]{1,9}$/.test(raw)) throw new UsageError(`--${name} must be a whole number, got "${raw}"`);
  return Number(raw);
}

function required(name: string, raw: string | undefined): string {
  if (raw === undefined || raw === '') throw new UsageError(`--${name} is required (drimbox synth --help)`);
  return raw;
}

function oneOf<T extends string>(name: string, raw: string | undefined, allowed: readonly T[]): T | undefined {
  if (raw === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(raw)) throw new UsageError(`--${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got "${raw}"`);
  return raw as T;
}

/** Progress on stderr: rewritten in place on a terminal, one line per 10% otherwise. */
function progressReporter(): { report: (done: number, total: number) => void; end: () => void } {
  const tty = process.stderr.isTTY === true;
  let lastShown = 0;
  let lastTime = 0;
  return {
    report(done, total) {
      const percent = Math.floor((done * 100) / total);
      const now = Date.now();
      if (tty) {
        if (done === total || now - lastTime >= 200) {
          process.stderr.write(`\rsynth: ${done}/${total} files (${percent}%)`);
          lastTime = now;
        }
      } else if (Math.floor(percent / 10) > Math.floor(lastShown / 10) || done === total) {
        process.stderr.write(`synth: ${done}/${total} files (${percent}%)\n`);
      }
      lastShown = percent;
    },
    end() {
      if (tty) process.stderr.write('\n');
    },
  };
}

async function totalBytes(paths: string[]): Promise<number> {
  let bytes = 0;
  for (const p of paths) bytes += (await stat(p)).size;
  return bytes;
}

export const command: Command = {
  summary: 'write a synthetic DICOM study (CT, MR or CR head phantom) for tests and benchmarks',
  async run(argv) {
    const { values } = parseCommandArgs(argv, options, false);
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const modality = oneOf('modality', required('modality', values.modality), ['CT', 'MR', 'CR'] as const)!;
    const instances = integer('instances', required('instances', values.instances))!;
    const seriesCount = integer('series', values.series);
    const rows = integer('rows', values.rows);
    const columns = integer('columns', values.columns);
    const seed = integer('seed', values.seed);
    const charset = oneOf('charset', values.charset, ['ISO_IR 192', 'ISO_IR 100'] as const);
    const transferSyntax = oneOf('transfer-syntax', values['transfer-syntax'], ['explicit-le', 'implicit-le'] as const);
    const uidRoot = values['uid-root'] ?? configFrom(values).box.uidRoot;
    const progress = progressReporter();

    const synthOptions: SynthOptions = {
      modality,
      instances,
      outDir: resolve(required('out', values.out)),
      uidRoot,
      ...(seriesCount !== undefined && { seriesCount }),
      ...(rows !== undefined && { rows }),
      ...(columns !== undefined && { columns }),
      ...(seed !== undefined && { seed }),
      ...(charset !== undefined && { charset }),
      ...(transferSyntax !== undefined && { transferSyntax }),
      ...(values.accession !== undefined && { accessionNumber: values.accession }),
      ...(values['study-uid'] !== undefined && { studyInstanceUid: values['study-uid'] }),
      patient: {
        ...(values['patient-name'] !== undefined && { name: values['patient-name'] }),
        ...(values['patient-id'] !== undefined && { id: values['patient-id'] }),
        ...(values['patient-issuer'] !== undefined && { issuer: values['patient-issuer'] }),
        ...(values['ins-oid'] !== undefined && { insOid: values['ins-oid'] }),
      },
      onProgress: progress.report,
    };

    const started = performance.now();
    let result;
    try {
      result = await synthesizeStudy(synthOptions);
    } catch (err) {
      if (err instanceof SynthOptionsError) throw new UsageError(err.message);
      throw err;
    } finally {
      progress.end();
    }
    const seconds = (performance.now() - started) / 1000;
    const summary = {
      studyInstanceUid: result.studyInstanceUid,
      accessionNumber: result.accessionNumber,
      modality,
      patient: { name: result.patient.name, id: result.patient.id },
      series: result.series.map((s) => ({ seriesInstanceUid: s.seriesInstanceUid, modality: s.modality, instances: s.instances.length })),
      files: result.files.length,
      bytes: await totalBytes(result.files),
      seconds: Math.round(seconds * 1000) / 1000,
      outDir: synthOptions.outDir,
    };
    process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    return 0;
  },
};
