import { rename, stat, writeFile } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { DicomReadError } from '../../dicom/dataset/part10.js';
import { buildKos, parseKos, studyFromFiles, KosBuildError, KosParseError, type KosStudy } from '../../dicom/kos/index.js';
import type { ReportEvent } from '../../report/types.js';
import { configFrom, configOptions, parseCommandArgs, UsageError, type Command } from '../args.js';
import { InputError, loadReportFile, readBounded } from '../input-files.js';

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

  const report = await loadReportFile(reportPath);
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




async function dump(path: string): Promise<number> {
  const manifest = parseKos(await readBounded(path, MAX_KOS_BYTES, 'KOS'));
  process.stdout.write(JSON.stringify(manifest, null, 2) + '\n');
  return 0;
}
