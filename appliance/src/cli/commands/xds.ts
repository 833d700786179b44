import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileSigner, tlsCredentialFromPkcs12 } from '../../auth/signer/file-signer.js';
import { CredentialError, type Signer } from '../../auth/signer/signer.js';
import { Pkcs11Signer } from '../../auth/pkcs11/signer.js';
import { engineSecureContext, tokenTlsCredential } from '../../auth/pkcs11/tls-key.js';
import type { TlsClientCredential } from '../../xds/transport.js';
import { prepareProvideAndRegister } from '../../xds/client.js';
import { DmpConnection, type PreparedRequest } from '../../xds/connection.js';
import { contextFromConfig, endpointsFromConfig, timeoutsFromConfig, xdsConfigSchema, XdsConfigError, type XdsConfig } from '../../xds/config.js';
import { MetadataError } from '../../xds/hl7-types.js';
import type { Outcome } from '../../xds/outcomes.js';
import { buildProvideAndRegister } from '../../xds/submission.js';
import type { KosFacts, XdsSubmissionContext } from '../../xds/types.js';
import { vihfSubjectFromReport } from '../../xds/vihf.js';
import { configFrom, configOptions, parseCommandArgs, UsageError, type Command } from '../args.js';
import { InputError, loadReportFile, readBounded } from '../input-files.js';

const help = `usage: drimbox xds provide --kos FILE --report FILE --out DIR [signing] [--to URL] [--replaces ENTRYUUID]
       drimbox xds send DIR [--to URL] [tls]
       drimbox xds send --kos FILE --report FILE [signing] [tls] [--to URL] [--replaces ENTRYUUID]

  provide  builds the ITI-41 Provide and Register request of a KOS (signed VIHF, XAdES signature document,
           MTOM package) and writes in DIR the exact HTTP body (body.bin) and headers (request.json) the
           box would send, plus soap.xml and signature.xml to read. No network.
  send     posts a request written by "provide" (or builds one) to the DMP and prints the outcome.
           Exit code: 0 accepted, 1 refused (permanent), 75 to be retried later.

  --report       CDA (.xml), HL7 v2 ORU/MDM message, or a report event as JSON
  --to           repository URL (default: xds.repositoryUrl or xds.baseUrl + /repository in the config)
  --replaces     entryUUID of the published entry this KOS replaces (RPLC)
  signing:  --p12 FILE --p12-pass P | --p12-pass-env VAR   (default: xds.signatureP12File of the config)
            or --pkcs11 MODULE --token-label LABEL --pin-env VAR [--key-label CPS_PRIV_SIG]   (key on a card/token)
  tls:      --ca FILE --tls-p12 FILE --tls-p12-pass P | --tls-p12-pass-env VAR   (default: the config)
            or --ca FILE --pkcs11 MODULE --token-label LABEL --pin-env VAR [--tls-key-label CPS_PRIV_AUT]
  --xds-config FILE   the "xds" configuration section as JSON (default: the box configuration)
  --sha1         sign with RSA-SHA1 (legacy platforms) instead of RSA-SHA256`;

const MAX_KOS_BYTES = 64 * 1024 * 1024;
const EXIT_TEMPFAIL = 75;


const options = {
  ...configOptions,
  kos: { type: 'string' },
  report: { type: 'string' },
  out: { type: 'string' },
  to: { type: 'string' },
  replaces: { type: 'string' },
  p12: { type: 'string' },
  'p12-pass': { type: 'string' },
  'p12-pass-env': { type: 'string' },
  ca: { type: 'string' },
  'tls-p12': { type: 'string' },
  'tls-p12-pass': { type: 'string' },
  'tls-p12-pass-env': { type: 'string' },
  pkcs11: { type: 'string' },
  'token-label': { type: 'string' },
  'pin-env': { type: 'string' },
  'key-label': { type: 'string' },
  'tls-key-label': { type: 'string' },
  'xds-config': { type: 'string' },
  sha1: { type: 'boolean' },
} as const;

type Values = { [K in keyof typeof options]?: (typeof options)[K]['type'] extends 'boolean' ? boolean : string } & { help?: boolean };

export const command: Command = {
  summary: 'build (provide) or send (send) the ITI-41 publication of a KOS to the DMP',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, options);
    const [action, ...rest] = positionals;
    if (values.help || !action) {
      process.stdout.write(help + '\n');
      return values.help ? 0 : 2;
    }
    try {
      switch (action) {
        case 'provide':
          if (rest.length) throw new UsageError(`xds provide takes no positional argument (got "${rest.join(' ')}")`);
          return await provide(values as Values);
        case 'send':
          if (rest.length > 1) throw new UsageError('xds send takes at most one DIR');
          return await send(values as Values, rest[0]);
        default:
          throw new UsageError(`unknown xds action "${action}" (provide, send)`);
      }
    } catch (err) {
      if (err instanceof InputError || err instanceof CredentialError || err instanceof XdsConfigError || err instanceof MetadataError) {
        process.stderr.write(`drimbox xds ${action}: ${err.message}\n`);
        return 1;
      }
      throw err;
    }
  },
};

async function loadXdsConfig(values: Values): Promise<XdsConfig> {
  if (values['xds-config']) {
    const raw = await readBounded(values['xds-config'], 1024 * 1024, 'xds configuration');
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      throw new InputError(`xds configuration ${values['xds-config']}: ${(err as Error).message}`);
    }
    const parsed = xdsConfigSchema.safeParse(json);
    if (!parsed.success) throw new InputError(`xds configuration ${values['xds-config']}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    return parsed.data;
  }
  const section = (configFrom(values) as unknown as Record<string, unknown>).xds;
  return xdsConfigSchema.parse(section ?? {});
}

function password(direct: string | undefined, envName: string | undefined, fallback: string, what: string): string {
  if (direct !== undefined) return direct;
  if (envName) {
    const v = process.env[envName];
    if (v === undefined) throw new InputError(`${what}: environment variable ${envName} is not set`);
    return v;
  }
  return fallback;
}

/** The token named by --pkcs11/--token-label/--pin-env, or undefined when --pkcs11 is not given. */
function tokenFrom(values: Values): { module: string; token: { label: string }; pin: string } | undefined {
  if (!values.pkcs11) {
    if (values['token-label'] || values['pin-env']) throw new UsageError('--token-label and --pin-env go with --pkcs11 MODULE');
    return undefined;
  }
  if (values.p12 || values['tls-p12']) throw new UsageError('--pkcs11 replaces --p12/--tls-p12: give one or the other');
  if (!values['token-label']) throw new UsageError('--pkcs11 needs --token-label LABEL (the token holding the key)');
  if (!values['pin-env']) throw new UsageError('--pkcs11 needs --pin-env VAR (the PIN is never given on the command line)');
  const pin = process.env[values['pin-env']];
  if (pin === undefined || pin === '') throw new InputError(`PIN: environment variable ${values['pin-env']} is not set`);
  return { module: values.pkcs11, token: { label: values['token-label'] }, pin };
}

async function signerFrom(values: Values, cfg: XdsConfig): Promise<Signer> {
  const token = tokenFrom(values);
  if (token) return Pkcs11Signer.open({ ...token, keyLabel: values['key-label'] ?? 'CPS_PRIV_SIG', pin: () => token.pin });
  const file = values.p12 ?? cfg.signatureP12File;
  if (!file) throw new InputError('signing needs --p12 FILE or --pkcs11 MODULE (or xds.signatureP12File in the configuration)');
  const pass = password(values['p12-pass'], values['p12-pass-env'], cfg.signatureP12Password, 'signing key');
  return FileSigner.fromPkcs12(await readBounded(file, 1024 * 1024, 'PKCS#12 file'), pass);
}

async function tlsFrom(values: Values, cfg: XdsConfig, ca: Buffer): Promise<TlsClientCredential> {
  const token = tokenFrom(values);
  if (token) return { secureContext: engineSecureContext(tokenTlsCredential({ ...token, keyLabel: values['tls-key-label'] ?? 'CPS_PRIV_AUT' }), { ca, minVersion: 'TLSv1.2' }) };
  const tlsFile = values['tls-p12'] ?? cfg.tlsP12File;
  if (!tlsFile) throw new InputError("sending needs --tls-p12 FILE or --pkcs11 MODULE (or xds.tlsP12File): the structure's AUTH_CLI certificate");
  return tlsCredentialFromPkcs12(
    await readBounded(tlsFile, 1024 * 1024, 'TLS PKCS#12 file'),
    password(values['tls-p12-pass'], values['tls-p12-pass-env'], cfg.tlsP12Password, 'TLS key'),
  );
}

async function loadKos(path: string): Promise<{ bytes: Buffer; facts: KosFacts }> {
  const bytes = await readBounded(path, MAX_KOS_BYTES, 'KOS');
  const { parseKos } = await import('../../dicom/kos/index.js');
  let manifest;
  try {
    manifest = parseKos(bytes);
  } catch (err) {
    throw new InputError(`KOS ${path}: ${(err as Error).message}`);
  }
  if (manifest.rejection) throw new InputError(`KOS ${path} is an IOCM rejection note, not a manifest to publish`);
  // A KOS names no modality: the eventCodeList takes the report's (merged with these when the builder knows them).
  return { bytes, facts: { sopInstanceUid: manifest.sopInstanceUid, studyInstanceUid: manifest.studyInstanceUid, modalities: [] } };
}

interface Built {
  prepared: PreparedRequest;
  signature: Buffer;
  summary: Record<string, unknown>;
}

async function build(values: Values, cfg: XdsConfig): Promise<Built> {
  if (!values.kos || !values.report) throw new UsageError('needs --kos FILE and --report FILE');
  const context: XdsSubmissionContext = { ...contextFromConfig(cfg), ...(values.sha1 ? { signatureAlgorithm: 'rsa-sha1' as const } : {}) };
  const repositoryUrl = values.to ?? endpointsFromConfig(cfg).repositoryUrl;
  const [report, kos, signer] = await Promise.all([loadReportFile(values.report), loadKos(values.kos), signerFrom(values, cfg)]);
  const built = await buildProvideAndRegister({ report, kos, context, signer, ...(values.replaces ? { replacesEntryUUID: values.replaces } : {}) });
  const prepared = await prepareProvideAndRegister(built, vihfSubjectFromReport(report, context), context, signer, repositoryUrl);
  const signature = built.documents.find((d) => d.mimeType === 'text/xml')!.bytes;
  return {
    prepared,
    signature,
    summary: { url: prepared.url, messageId: prepared.messageId, bytes: prepared.length, kosUniqueId: kos.facts.sopInstanceUid, ids: built.ids, warnings: built.warnings },
  };
}

async function writeAtomically(path: string, data: Buffer | string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, data);
  await rename(temporary, path);
}

async function provide(values: Values): Promise<number> {
  if (!values.out) throw new UsageError('xds provide needs --out DIR');
  const cfg = await loadXdsConfig(values);
  const { prepared, signature, summary } = await build(values, cfg);
  await mkdir(values.out, { recursive: true });
  const body = Buffer.concat(prepared.chunks, prepared.length);
  const request = {
    method: 'POST',
    url: prepared.url,
    action: prepared.action,
    messageId: prepared.messageId,
    headers: { 'Content-Type': prepared.contentType, 'Content-Length': String(prepared.length) },
  };
  await writeAtomically(join(values.out, 'body.bin'), body);
  await writeAtomically(join(values.out, 'request.json'), JSON.stringify(request, null, 2) + '\n');
  await writeAtomically(join(values.out, 'soap.xml'), prepared.chunks[1]!);
  await writeAtomically(join(values.out, 'signature.xml'), signature);
  process.stdout.write(JSON.stringify({ out: values.out, ...summary }, null, 2) + '\n');
  return 0;
}

async function readPrepared(dir: string): Promise<PreparedRequest> {
  const requestText = await readBounded(join(dir, 'request.json'), 64 * 1024, 'request');
  let request: { url?: string; action?: string; messageId?: string; headers?: Record<string, string> };
  try {
    request = JSON.parse(requestText.toString('utf8'));
  } catch (err) {
    throw new InputError(`${join(dir, 'request.json')}: ${(err as Error).message}`);
  }
  const contentType = request.headers?.['Content-Type'];
  if (!request.url || !contentType) throw new InputError(`${join(dir, 'request.json')} lacks url or headers.Content-Type`);
  const body = await readBounded(join(dir, 'body.bin'), 512 * 1024 * 1024, 'request body');
  return { url: request.url, action: request.action ?? '', messageId: request.messageId ?? '', contentType, chunks: [body], length: body.length };
}

async function send(values: Values, dir: string | undefined): Promise<number> {
  const cfg = await loadXdsConfig(values);
  let prepared: PreparedRequest;
  if (dir) {
    if (values.kos || values.report) throw new UsageError('xds send takes either DIR or --kos/--report, not both');
    prepared = await readPrepared(dir);
    if (values.to) prepared = { ...prepared, url: values.to };
  } else {
    prepared = (await build(values, cfg)).prepared;
  }
  const caFile = values.ca ?? cfg.caFile;
  if (!caFile) throw new InputError('sending needs --ca FILE (or xds.caFile): the CAs the DMP server certificate must chain to');
  const ca = await readBounded(caFile, 1024 * 1024, 'CA bundle');
  const credential = await tlsFrom(values, cfg, ca);
  const connection = new DmpConnection({ tls: { ca, credential }, timeouts: timeoutsFromConfig(cfg) });
  let outcome: Outcome;
  try {
    outcome = await connection.send(prepared);
  } finally {
    connection.close();
  }
  process.stdout.write(JSON.stringify({ url: prepared.url, messageId: prepared.messageId, outcome }, null, 2) + '\n');
  return outcome.kind === 'success' ? 0 : outcome.kind === 'permanent' ? 1 : EXIT_TEMPFAIL;
}
