import { localAddressFacing } from '../../dimse/peer-addresses.js';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Config } from '../../config/schema.js';
import {
  createPacsBridge,
  startStoreScp,
  isValidUid,
  type FindQuery,
  type RetrieveResult,
  type StoreOutcome,
  type StoreScp,
} from '../../dimse/index.js';
import type { QueryLevel, RetrieveTarget } from '../../dicom/model.js';
import { configFrom, configOptions, parseCommandArgs, UsageError, type Command } from '../args.js';

const help = `usage: drimbox pacs echo                                          [-c CONFIG]
       drimbox pacs find  --level STUDY|SERIES|IMAGE [--study UID] [--series UID] [-k Keyword=value]...
       drimbox pacs get   --study UID [--series UID [--instance UID]] --out DIR
       drimbox pacs move  --study UID [--series UID [--instance UID]] --out DIR
       drimbox pacs store FILE|DIR...

  Talks DIMSE to the PACS of the configuration (pacs.aeTitle, pacs.host, pacs.port) as the box (box.aeTitle).
  echo   C-ECHO: is the PACS there, and does it accept the box?
  find   C-FIND (Study Root); prints one DICOM JSON line per match as it arrives. -k adds a matching or
         return key by keyword (e.g. -k PatientID=12345 -k "PatientName=DUPONT*" -k StudyDate=).
  get    C-GET of a study, series or instance into DIR (one <SOP Instance UID>.dcm per instance).
  move   C-MOVE of the same to the box's own C-STORE SCP, started for the occasion on dimse.listenHost:dimse.port:
         the PACS must know the box's AE title with that address.
  store  C-STORE of Part-10 files (folders are walked); prints each instance refused or skipped, then a summary.
  Exit status: 0 success, 1 failure (PACS error, or any instance not retrieved / not stored), 2 usage.`;

const LEVELS: QueryLevel[] = ['STUDY', 'SERIES', 'IMAGE'];

/** Return keys a technician wants to see at each level. */
const DEFAULT_KEYS: Record<QueryLevel, string[]> = {
  STUDY: ['PatientName', 'PatientID', 'StudyDate', 'AccessionNumber', 'StudyDescription', 'ModalitiesInStudy', 'NumberOfStudyRelatedInstances'],
  SERIES: ['Modality', 'SeriesNumber', 'SeriesDescription', 'NumberOfSeriesRelatedInstances'],
  IMAGE: ['SOPClassUID', 'InstanceNumber'],
};

type Values = {
  config?: string;
  level?: string;
  study?: string;
  series?: string;
  instance?: string;
  out?: string;
  key?: string[];
};

export const command: Command = {
  summary: 'talk to the PACS over DIMSE: echo, find, get, move, store',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      ...configOptions,
      level: { type: 'string' },
      study: { type: 'string' },
      series: { type: 'string' },
      instance: { type: 'string' },
      out: { type: 'string' },
      key: { type: 'string', short: 'k', multiple: true },
    });
    const [action, ...rest] = positionals;
    if (values.help || !action) {
      process.stdout.write(help + '\n');
      return values.help ? 0 : 2;
    }
    const config = configFrom(values);
    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.once('SIGINT', onSigint);
    try {
      switch (action) {
        case 'echo':
          noPositionals(action, rest);
          return await echo(config);
        case 'find':
          noPositionals(action, rest);
          return await find(config, values, controller.signal);
        case 'get':
        case 'move':
          noPositionals(action, rest);
          return await retrieve(config, values, action, controller.signal);
        case 'store':
          if (!rest.length) throw new UsageError('pacs store needs at least one FILE or DIR');
          return await store(config, rest);
        default:
          throw new UsageError(`unknown pacs action "${action}" (echo, find, get, move, store)`);
      }
    } finally {
      process.off('SIGINT', onSigint);
    }
  },
};

function noPositionals(action: string, rest: string[]): void {
  if (rest.length) throw new UsageError(`pacs ${action} takes no positional argument (got "${rest.join(' ')}")`);
}

function pacsName(config: Config): string {
  return `${config.pacs.aeTitle} at ${config.pacs.host}:${config.pacs.port}`;
}

function bridgeFor(config: Config, retrieve?: 'C-GET' | 'C-MOVE', scp?: StoreScp) {
  return createPacsBridge({ ...config.pacs, ...(retrieve ? { retrieve } : {}) }, { aeTitle: config.box.aeTitle, scp }, config.dimse);
}

async function echo(config: Config): Promise<number> {
  const started = performance.now();
  await bridgeFor(config).echo();
  process.stdout.write(`C-ECHO to PACS ${pacsName(config)} as ${config.box.aeTitle}: OK (${Math.round(performance.now() - started)} ms)\n`);
  return 0;
}

function uidOption(name: string, value: string | undefined): string | undefined {
  if (value !== undefined && !isValidUid(value)) throw new UsageError(`--${name} "${value}" is not a valid UID`);
  return value;
}

async function find(config: Config, values: Values, signal: AbortSignal): Promise<number> {
  const level = (values.level ?? '').toUpperCase() as QueryLevel;
  if (!LEVELS.includes(level)) throw new UsageError('pacs find needs --level STUDY, SERIES or IMAGE');
  const keys: Record<string, string> = {};
  for (const keyword of DEFAULT_KEYS[level]) keys[keyword] = '';
  const study = uidOption('study', values.study);
  const series = uidOption('series', values.series);
  if (study) keys.StudyInstanceUID = study;
  if (series) keys.SeriesInstanceUID = series;
  for (const pair of values.key ?? []) {
    const eq = pair.indexOf('=');
    const keyword = eq < 0 ? pair : pair.slice(0, eq);
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(keyword)) throw new UsageError(`-k "${pair}": expected Keyword=value (e.g. PatientID=12345)`);
    keys[keyword] = eq < 0 ? '' : pair.slice(eq + 1);
  }
  if (level !== 'STUDY' && !keys.StudyInstanceUID) throw new UsageError(`pacs find at ${level} level needs --study UID`);
  const query: FindQuery = { level, keys };
  let matches = 0;
  try {
    for await (const match of bridgeFor(config).find(query, signal)) {
      matches++;
      process.stdout.write(JSON.stringify(match) + '\n');
    }
  } catch (err) {
    if (err instanceof TypeError) throw new UsageError(err.message);
    throw err;
  }
  process.stderr.write(`${matches} match(es) from PACS ${pacsName(config)}\n`);
  return 0;
}

function targetOf(values: Values): RetrieveTarget {
  const studyInstanceUid = uidOption('study', values.study);
  const seriesInstanceUid = uidOption('series', values.series);
  const sopInstanceUid = uidOption('instance', values.instance);
  if (!studyInstanceUid) throw new UsageError('--study UID is required');
  if (sopInstanceUid && !seriesInstanceUid) throw new UsageError('--instance needs --series as well');
  const level: QueryLevel = sopInstanceUid ? 'IMAGE' : seriesInstanceUid ? 'SERIES' : 'STUDY';
  if (values.level && values.level.toUpperCase() !== level) throw new UsageError(`--level ${values.level} does not match the UIDs given (${level})`);
  return { level, studyInstanceUid, ...(seriesInstanceUid ? { seriesInstanceUid } : {}), ...(sopInstanceUid ? { sopInstanceUid } : {}) };
}

async function retrieve(config: Config, values: Values, action: 'get' | 'move', signal: AbortSignal): Promise<number> {
  const target = targetOf(values);
  if (!values.out) throw new UsageError(`pacs ${action} needs --out DIR`);
  const outDir = resolve(values.out);
  let scp: StoreScp | undefined;
  if (action === 'move') {
    const allowed = config.dimse.allowedCallingAeTitles.length ? config.dimse.allowedCallingAeTitles : [config.pacs.aeTitle];
    scp = await startStoreScp({
      aeTitle: config.box.aeTitle,
      host: config.dimse.listenHost === 'pacs-facing' ? await localAddressFacing(config.pacs.host) : config.dimse.listenHost,
      port: config.dimse.port,
      allowedCallingAeTitles: allowed,
      storageDir: outDir,
      maxPduLength: config.dimse.maxPduLength,
    });
  }
  const started = performance.now();
  let lastLine = 0;
  try {
    const result = await bridgeFor(config, action === 'get' ? 'C-GET' : 'C-MOVE', scp).retrieve(target, {
      outDir,
      signal,
      onProgress: (p) => {
        if (performance.now() - lastLine < 1000) return;
        lastLine = performance.now();
        process.stderr.write(`  ${p.completed} received${p.remaining !== undefined ? `, ${p.remaining} remaining` : ''}${p.failed ? `, ${p.failed} failed` : ''}\n`);
      },
    });
    return summary(config, action, result, outDir, performance.now() - started);
  } finally {
    await scp?.close();
  }
}

function summary(config: Config, action: string, r: RetrieveResult, outDir: string, ms: number): number {
  const how = action === 'get' ? 'C-GET' : 'C-MOVE';
  process.stdout.write(
    `${how} from PACS ${pacsName(config)}: ${r.instances} instance(s) written to ${outDir} in ${(ms / 1000).toFixed(1)} s ` +
      `(completed ${r.completed}, failed ${r.failed}, warning ${r.warning})\n`,
  );
  for (const uid of r.failedSopInstanceUids) process.stdout.write(`  failed: ${uid}\n`);
  if (r.failed > 0) {
    process.stderr.write(`drimbox pacs ${action}: ${r.failed} instance(s) could not be retrieved\n`);
    return 1;
  }
  return 0;
}

/** Files named on the command line; folders walked depth first, hidden entries skipped. */
async function* walk(paths: string[]): AsyncGenerator<string> {
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (info?.isDirectory()) {
      const entries = (await readdir(path, { withFileTypes: true })).filter((e) => !e.name.startsWith('.')).sort((a, b) => a.name.localeCompare(b.name));
      yield* walk(entries.map((e) => join(path, e.name)));
    } else {
      yield path;
    }
  }
}

async function store(config: Config, paths: string[]): Promise<number> {
  const started = performance.now();
  const counts: Record<StoreOutcome['status'], number> = { stored: 0, warning: 0, refused: 0, skipped: 0 };
  const outcomes = await bridgeFor(config).store(walk(paths), (o) => {
    counts[o.status]++;
    if (o.status !== 'stored') process.stdout.write(`${o.status.padEnd(7)} ${o.path}: ${o.reason ?? ''}\n`);
  });
  process.stdout.write(
    `C-STORE to PACS ${pacsName(config)}: ${counts.stored} stored, ${counts.warning} with warning, ${counts.refused} refused, ` +
      `${counts.skipped} skipped, of ${outcomes.length} file(s) in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
  );
  return counts.refused + counts.skipped > 0 ? 1 : 0;
}
