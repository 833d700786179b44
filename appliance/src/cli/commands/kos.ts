import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { DicomReadError } from '../../dicom/dataset/part10.js';
import { buildKos, parseKos, studyFromFiles, KosBuildError, KosParseError, type KosStudy } from '../../dicom/kos/index.js';
import type { ReportEvent } from '../../report/types.js';
import { configFrom, configOptions, parseCommandArgs, UsageError, type Command } from '../args.js';

const help = `usage: drimbox kos build --study-dir DIR --report FILE --out FILE [--retrieve-base URL] [--uid-root ROOT] [-c CONFIG]
       drimbox kos dump FILE

  build  builds the IMG-KOS of the exam whose Part-10 files are under DIR (headers only are read) for the
         report FILE (CDA .xml, HL7 v2 ORU/MDM message, or the JSON of "drimbox hl7 parse"), writes it to
         --out and prints a summary. No PACS needed.
           --retrieve-base  this box's public WADO-RS base (default: config box.publicBaseUrl)
           --uid-root       UID root of the KOS's own UIDs (default: config box.uidRoot)
  dump   prints a KOS (ours or another producer's, or an IOCM rejection note) as JSON: patient, study,
         accession, and per series its Retrieve URL and instances.`;

/** A KOS of 10,000 references is about 2 MB; anything far larger is not a manifest. */
const MAX_KOS_BYTES = 64 * 1024 * 1024;
const MAX_REPORT_BYTES = 32 * 1024 * 1024;

export const command: Command = {
  summary: 'build a KOS from files on disk and a report, or dump any KOS as JSON',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      ...configOptions,
      'study-dir': { type: 'string' },
      report: { type: 'string' },
      out: { type: 'string' },
      'retrieve-base': { type: 'string' },
      'uid-root': { type: 'string' },
    });
    const [action, ...rest] = positionals;
    if (values.help || !action) {
      process.stdout.write(help + '\n');
      return values.help ? 0 : 2;
    }
    try {
      switch (action) {
        case 'build':
          if (rest.length) throw new UsageError(`kos build takes no positional argument (got "${rest.join(' ')}")`);
          return await build(values);
        case 'dump':
          if (rest.length !== 1) throw new UsageError('kos dump takes exactly one FILE');
          return await dump(rest[0]!);
        default:
          throw new UsageError(`unknown kos action "${action}" (build, dump)`);
      }
    } catch (err) {
      if (err instanceof KosBuildError || err instanceof KosParseError || err instanceof DicomReadError || err instanceof InputError) {
        process.stderr.write(`drimbox kos ${action}: ${err.message}\n`);
        return 1;
      }
      throw err;
    }
  },
};

/** A file the technician named is missing or unusable; the message says which and why. */
class InputError extends Error {}

interface BuildArgs {
  config?: string | boolean;
  'study-dir'?: string;
  report?: string;
  out?: string;
  'retrieve-base'?: string;
  'uid-root'?: string;
}

async function build(values: BuildArgs): Promise<number> {
  const studyDir = values['study-dir'];
  const reportPath = values.report;
  const out = values.out;
  if (!studyDir || !reportPath || !out) throw new UsageError('kos build needs --study-dir DIR, --report FILE and --out FILE');
  const needConfig = !values['retrieve-base'] || !values['uid-root'];
  const box = needConfig ? configFrom(values).box : undefined;

  const report = await loadReport(reportPath);
  if (!(await stat(studyDir).catch(() => undefined))?.isDirectory()) throw new InputError(`--study-dir ${studyDir} is not a directory`);
  const found = await studyFromFiles(studyDir);
  const study = pickStudy(found.studies, report, studyDir, found.skipped.length);
  const kos = buildKos({
    report,
    study,
    retrieveBaseUrl: values['retrieve-base'] ?? box!.publicBaseUrl,
    uidRoot: values['uid-root'] ?? box!.uidRoot,
  });
  // Written beside the target then renamed: a reader never sees half a KOS.
  const temporary = join(dirname(out), `.${basename(out)}.${process.pid}.tmp`);
  await writeFile(temporary, kos.part10);
  await rename(temporary, out);
  process.stdout.write(
    JSON.stringify(
      {
        out,
        sopInstanceUid: kos.sopInstanceUid,
        seriesInstanceUid: kos.seriesInstanceUid,
        studyInstanceUid: kos.studyInstanceUid,
        series: study.series.length,
        instances: kos.instanceCount,
        bytes: kos.part10.length,
        skippedFiles: found.skipped,
      },
      null,
      2,
    ) + '\n',
  );
  return 0;
}

function pickStudy(studies: KosStudy[], report: ReportEvent, dir: string, skipped: number): KosStudy {
  const skippedNote = skipped ? ` (${skipped} file(s) skipped as not DICOM)` : '';
  if (!studies.length) throw new InputError(`no DICOM instance under ${dir}${skippedNote}`);
  const wanted = report.studyInstanceUid;
  if (wanted) {
    const match = studies.find((s) => s.studyInstanceUid === wanted);
    if (!match) {
      throw new InputError(`the report is for study ${wanted}; ${dir} holds ${studies.map((s) => s.studyInstanceUid).join(', ')}${skippedNote}`);
    }
    return match;
  }
  if (studies.length > 1) {
    throw new InputError(`the report names no study and ${dir} holds ${studies.length}: ${studies.map((s) => s.studyInstanceUid).join(', ')}`);
  }
  return studies[0]!;
}

async function readBounded(path: string, max: number, what: string): Promise<Buffer> {
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new InputError(`${what} ${path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  });
  if (!info.isFile()) throw new InputError(`${what} ${path} is not a file`);
  if (info.size > max) throw new InputError(`${what} ${path} is ${info.size} bytes, more than the ${max} accepted`);
  return readFile(path);
}

/** The report event from a CDA, an HL7 v2 message or its JSON form, recognised by content, not by name. */
async function loadReport(path: string): Promise<ReportEvent> {
  const bytes = await readBounded(path, MAX_REPORT_BYTES, 'report');
  const head = bytes.subarray(0, 64).toString('latin1').replace(/^\uFEFF|^\xEF\xBB\xBF/, '').trimStart();
  try {
    if (head.startsWith('{')) return reportFromJson(bytes.toString('utf8'));
    if (head.startsWith('<')) {
      const { reportFromCda } = await import('../../report/parse.js');
      return reportFromCda(bytes);
    }
    if (head.startsWith('MSH') || head.startsWith('\x0bMSH')) {
      const [{ parseHl7Message }, { reportFromHl7 }] = await Promise.all([import('../../hl7/parse.js'), import('../../report/parse.js')]);
      return reportFromHl7(parseHl7Message(bytes));
    }
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`report ${path}: ${(err as Error).message}`);
  }
  throw new InputError(`report ${path} is neither a CDA (XML), an HL7 v2 message (MSH...) nor a report event (JSON)`);
}

function reportFromJson(json: string): ReportEvent {
  const value = JSON.parse(json) as Partial<ReportEvent> | null;
  if (!value || typeof value !== 'object' || typeof value.patient !== 'object' || value.patient === null) {
    throw new InputError('JSON report event without a "patient" object');
  }
  return {
    action: 'publish',
    trigger: 'JSON',
    modalities: [],
    regions: [],
    document: {},
    dmp: { sendToDmp: true, maskedFromProfessionals: false, invisibleToPatient: false, invisibleToLegalRepresentatives: false },
    ...value,
  } as ReportEvent;
}

async function dump(path: string): Promise<number> {
  const manifest = parseKos(await readBounded(path, MAX_KOS_BYTES, 'KOS'));
  process.stdout.write(JSON.stringify(manifest, null, 2) + '\n');
  return 0;
}
