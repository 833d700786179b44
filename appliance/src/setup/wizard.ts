import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { Hl7Exchange, Hl7ExchangeLog } from '../source/hl7-exchange-log.js';
import type { SetupDraft, StepAnswers } from './draft-store.js';
import { mergeJson, readConfigFileJson, writeConfigFile } from './config-file.js';
import { checkStep, configPatch, STEP_IDS, type StepId, type StepValues } from './steps.js';
import { answersFromConfig } from './current-answers.js';
import type { NetworkView, SetupProbes } from './probe-bindings.js';
import { configLeaves } from '../config/load.js';
import { hashPin, isAcceptablePin } from './admin-pin.js';

export type CertificateKind = 'p12' | 'ca';

const CERTIFICATE_FILES: Record<CertificateKind, { name: string; maxBytes: number }> = {
  p12: { name: 'structure.p12', maxBytes: 256 * 1024 },
  ca: { name: 'autorites-dmp.pem', maxBytes: 2 * 1024 * 1024 },
};

function checkCertificateSize(kind: CertificateKind, size: number): void {
  if (size === 0 || size > CERTIFICATE_FILES[kind].maxBytes) throw new SetupInputError(size === 0 ? 'file-empty' : 'file-too-big');
}

export type ApplyResult = { ok: true } | { ok: false; reason: 'incomplete'; steps: StepId[] } | { ok: false; reason: 'no-config-file' } | { ok: false; reason: 'invalid'; detail: string };

export interface WizardDeps {
  /** The running configuration (what the wizard starts from when the box is already set up). */
  config: Config;
  /** Where the configuration is written (DRIMBOX_CONFIG / --config); without one nothing can be applied. */
  configFile: string | undefined;
  env: NodeJS.ProcessEnv;
  draft: SetupDraft;
  probes: SetupProbes;
  hl7: Hl7ExchangeLog;
  /** Called once a new configuration is on disk: the box restarts its services on it. */
  onApplied: () => void;
  log: Logger;
  hl7Port: number;
  /** The box's address the RIS should use (the LAN-facing one). */
  hl7Address: () => string;
}

/** The first-run wizard's logic: answers kept per step, live tests on the answers, and the one way to apply them. */
export class SetupWizard {
  constructor(private readonly d: WizardDeps) {}

  isSetUp(): boolean {
    return this.d.config.setup.completedAt !== '';
  }

  /** A step's answers: the draft's, else what the running configuration says. */
  answers(step: StepId): StepAnswers {
    const saved = this.d.draft.get(step);
    return saved && Object.keys(saved.answers).length ? saved.answers : answersFromConfig(step, this.d.config);
  }

  testOutcome(step: StepId): unknown {
    return this.d.draft.get(step)?.testOutcome;
  }

  /** The first step without saved answers: where a wizard cut by a power failure starts again. */
  resumeStep(): StepId {
    const saved = new Set(this.d.draft.savedSteps());
    return STEP_IDS.find((s) => s !== 'resume' && !saved.has(s)) ?? 'resume';
  }

  /** Keeps the answers even when they do not check (nothing typed is lost); says what is wrong. */
  save(step: StepId, form: StepAnswers): ReturnType<typeof checkStep> {
    const merged = { ...this.answers(step), ...form };
    this.d.draft.saveAnswers(step, merged);
    return checkStep(step, merged);
  }

  values<S extends StepId>(step: S): StepValues<S> | undefined {
    const r = checkStep(step, this.answers(step));
    return r.ok ? (r.values as StepValues<S>) : undefined;
  }

  /** Runs the step's live test on its saved answers and keeps the outcome for the summary. */
  async test(step: StepId): Promise<unknown> {
    const outcome = await this.runTest(step);
    this.d.draft.saveTestOutcome(step, outcome);
    return outcome;
  }

  private async runTest(step: StepId): Promise<unknown> {
    const p = this.d.probes;
    switch (step) {
      case 'pacs': {
        const v = this.values('pacs');
        return v ? p.echo({ aeTitle: v.pacsAeTitle, host: v.pacsHost, port: v.pacsPort }, v.boxAeTitle) : { ok: false, reason: 'answers-incomplete', detail: '' };
      }
      case 'pacs-retour': {
        const v = this.values('pacs');
        if (!v) return { ok: false, reason: 'answers-incomplete', detail: '' };
        const reverse = await p.reverse({ aeTitle: v.pacsAeTitle, host: v.pacsHost, port: v.pacsPort }, v.boxAeTitle);
        const qido = v.dicomwebUrl ? await p.qido(v.dicomwebUrl) : undefined;
        return { reverse, ...(qido ? { qido } : {}) };
      }
      case 'certificat': {
        const a = this.answers('certificat');
        if (!a.p12File) return { ok: false, reason: 'answers-incomplete', detail: '' };
        return p.pkcs12({ file: a.p12File, password: a.p12Password ?? '', ...(a.caFile ? { caFile: a.caFile } : {}) });
      }
      case 'dmp': {
        const v = this.values('dmp');
        const c = this.values('certificat');
        if (!v || !c) return { ok: false, reason: 'answers-incomplete', detail: '' };
        const patch = configPatch({ certificat: c, dmp: v }) as { xds: Partial<Config['xds']> };
        return p.dmp({ ...this.d.config.xds, ...patch.xds });
      }
      case 'psc': {
        const v = this.values('psc');
        return v ? p.psc(v.issuer) : { ok: false, reason: 'answers-incomplete', detail: '' };
      }
      default:
        return { ok: false, reason: 'no-test', detail: step };
    }
  }

  /** What the box must be declared as in the PACS (AE title, the address the PACS reaches, port). */
  declaration(): Promise<{ aeTitle: string; address: string; port: number }> {
    const v = this.values('pacs');
    return this.d.probes.declaration(v?.boxAeTitle ?? this.d.config.box.aeTitle, v?.pacsHost ?? this.d.config.pacs.host);
  }

  /** The administrator's PIN, hashed into the draft: never kept in clear, not even there. */
  async setPin(pin: string, confirmation: string): Promise<void> {
    if (!isAcceptablePin(pin)) throw new SetupInputError('pin-format');
    if (pin !== confirmation) throw new SetupInputError('pin-mismatch');
    this.d.draft.saveAnswers('pin', { pinHash: await hashPin(pin) });
  }

  hl7Since(isoTime: string): Hl7Exchange[] {
    return this.d.hl7.since(isoTime);
  }

  /** A certificate file kept in the data folder under a fixed name (never the name a browser or a stick gave). */
  async storeCertificate(kind: CertificateKind, bytes: Buffer): Promise<string> {
    checkCertificateSize(kind, bytes.length);
    const dir = join(this.d.config.dataDir, 'certificats');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, CERTIFICATE_FILES[kind].name);
    await writeFile(path, bytes, { mode: 0o600 });
    await chmod(path, 0o600); // a file already there keeps its mode on writeFile
    this.d.draft.saveAnswers('certificat', { ...this.answers('certificat'), [kind === 'p12' ? 'p12File' : 'caFile']: path });
    return path;
  }

  /** Copies a file chosen on the USB stick: only a name the stick's listing holds, never a path. Kept as an upload is. */
  async copyFromUsb(kind: CertificateKind, name: string): Promise<string> {
    const listed = (await this.d.probes.usbFiles()).find((f) => f.name === name);
    if (!listed) throw new SetupInputError('usb-file-unknown');
    const from = join(this.d.config.setup.usbDir, listed.name);
    checkCertificateSize(kind, (await stat(from)).size); // before reading: a huge file on the stick is never read
    return this.storeCertificate(kind, await readFile(from));
  }

  network(): Promise<NetworkView> {
    return this.d.probes.network();
  }

  usbFiles(): Promise<{ name: string; size: number }[]> {
    return this.d.probes.usbFiles();
  }

  /** Where the RIS sends its messages: the box's address facing the LAN, the MLLP port. */
  hl7Endpoint(): { address: string; port: number } {
    return { address: this.d.hl7Address(), port: this.d.hl7Port };
  }

  /** Keys a fleet or device variable sets: they win over what the wizard writes. */
  fleetForced(): string[] {
    return configLeaves()
      .filter((leaf) => this.d.env[leaf.env] !== undefined)
      .map((leaf) => leaf.path.join('.'));
  }

  /** The software's own DMP identifiers, given by the vendor (fleet variables), are missing. */
  lpsMissing(): boolean {
    const x = this.d.config.xds;
    return !x.lps.id || !x.lps.homologationId || !x.sourceIdOid;
  }

  /** Steps whose answers do not check yet. */
  incompleteSteps(): StepId[] {
    return STEP_IDS.filter((s) => s !== 'resume' && !checkStep(s, this.answers(s)).ok);
  }

  /**
   * Writes the configuration (validated by the start-up schema, atomically, the previous file kept) and asks the box
   * to restart its services on it. The draft is cleared only once the file is written.
   */
  apply(): ApplyResult {
    const missing = this.incompleteSteps();
    if (missing.length) return { ok: false, reason: 'incomplete', steps: missing };
    const file = this.d.configFile;
    if (!file) return { ok: false, reason: 'no-config-file' };
    const all = Object.fromEntries(STEP_IDS.map((s) => [s, this.values(s)]));
    const patch = mergeJson(configPatch(all), { setup: { completedAt: this.d.config.setup.completedAt || new Date().toISOString() } });
    try {
      writeConfigFile(file, mergeJson(readConfigFileJson(file), patch), this.d.env);
    } catch (err) {
      this.d.log.warn('setup: configuration refused, nothing written', { error: err });
      return { ok: false, reason: 'invalid', detail: (err as Error).message };
    }
    this.d.log.info('setup: configuration written, services restart', { file });
    this.d.draft.clear();
    this.d.onApplied();
    return { ok: true };
  }
}

/** Input the wizard refuses, with a code the page says in French. */
export class SetupInputError extends Error {
  constructor(readonly code: string) {
    super(code);
    this.name = 'SetupInputError';
  }
}
