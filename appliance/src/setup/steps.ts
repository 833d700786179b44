import { z } from 'zod';
import { checkStructureId } from './identifiers.js';
import type { StepAnswers } from './draft-store.js';

/** The wizard's screens, in order: one decision each. */
export const STEP_IDS = ['identite', 'reseau', 'pacs', 'pacs-retour', 'ris', 'certificat', 'dmp', 'psc', 'pin', 'resume'] as const;
export type StepId = (typeof STEP_IDS)[number];

export function isStepId(value: string): value is StepId {
  return (STEP_IDS as readonly string[]).includes(value);
}

export function stepNumber(step: StepId): number {
  return STEP_IDS.indexOf(step) + 1;
}

// Error messages are codes: the page says them in French (ui/strings/setup.ts, `errors`).
const text = (max: number) => z.string().trim().min(1, 'required').max(max, 'too-long');
const aeTitle = z.string().trim().toUpperCase().min(1, 'required').max(16, 'too-long').regex(/^[A-Z0-9_\-. ]+$/, 'ae-title');
const port = z.string().trim().regex(/^[0-9]{1,5}$/, 'port').transform(Number).refine((n) => n >= 1 && n <= 65535, 'port');
const hostName = z.string().trim().min(1, 'required').max(253, 'too-long').regex(/^[A-Za-z0-9.\-:[\]]+$/, 'host');
const httpUrl = z.string().trim().max(2048, 'too-long').refine((v) => {
  try {
    const u = new URL(v);
    return (u.protocol === 'https:' || u.protocol === 'http:') && !u.username && !u.password && !u.hash;
  } catch {
    return false;
  }
}, 'url');
const optionalUrl = z.union([z.literal(''), httpUrl]);

// Addresses published for Pro Santé Connect (ci-sis-imaging.md §4, "Sandbox (BAS)" and "Production" rows) and for the
// DMP's test environment (ci-sis-imaging.md §3, "Endpoints (test)"). The production DMP address is given by the ANS
// at homologation: it is typed.
export const PSC_ISSUERS = {
  bas: 'https://auth.bas.psc.esante.gouv.fr/auth/realms/esante-wallet',
  production: 'https://auth.esante.gouv.fr/auth/realms/esante-wallet',
} as const;
export const DMP_TEST_BASE_URL = 'https://lps.dev9.dmp.gouv.fr/si-dmp-server/v2/services';

export const stepSchemas = {
  identite: z.object({
    structureName: text(80),
    structureId: z.string().transform((v, ctx) => {
      const r = checkStructureId(v);
      if (!r.ok) {
        ctx.addIssue({ code: 'custom', message: r.why === 'check-digit' ? 'structure-id-key' : 'structure-id' });
        return z.NEVER;
      }
      return r.structureId;
    }),
    boxName: text(64),
  }),
  reseau: z.object({ publicBaseUrl: httpUrl }),
  pacs: z.object({ pacsAeTitle: aeTitle, pacsHost: hostName, pacsPort: port, boxAeTitle: aeTitle, dicomwebUrl: optionalUrl }),
  'pacs-retour': z.object({ retrieve: z.enum(['C-GET', 'C-MOVE'], { message: 'choice' }) }),
  ris: z.object({ risAddress: z.union([z.literal(''), z.ipv4({ message: 'address' }), z.ipv6({ message: 'address' })]) }),
  certificat: z.object({ p12File: text(4096), p12Password: z.string().max(256, 'too-long'), caFile: text(4096) }),
  dmp: z
    .object({ environment: z.enum(['test', 'autre'], { message: 'choice' }), baseUrl: z.string().trim() })
    .transform((v) => ({ ...v, baseUrl: v.environment === 'test' ? DMP_TEST_BASE_URL : v.baseUrl }))
    .refine((v) => httpUrl.safeParse(v.baseUrl).success && v.baseUrl.startsWith('https:'), { message: 'https-url', path: ['baseUrl'] }),
  psc: z
    .object({ environment: z.enum(['bas', 'production', 'autre'], { message: 'choice' }), issuer: z.string().trim(), clientId: text(256), clientSecret: text(512) })
    .transform((v) => ({ ...v, issuer: v.environment === 'autre' ? v.issuer : PSC_ISSUERS[v.environment] }))
    .refine((v) => httpUrl.safeParse(v.issuer).success, { message: 'url', path: ['issuer'] }),
  pin: z.object({ pinHash: z.string().min(1, 'required') }),
  resume: z.object({}),
} satisfies Record<StepId, z.ZodType>;

export type StepValues<S extends StepId> = z.output<(typeof stepSchemas)[S]>;

export type StepCheck<S extends StepId> = { ok: true; values: StepValues<S> } | { ok: false; errors: Record<string, string> };

/** A step's answers checked: the values the configuration takes, or an error code per field. */
export function checkStep<S extends StepId>(step: S, answers: StepAnswers): StepCheck<S> {
  const result = (stepSchemas[step] as z.ZodType).safeParse(answers);
  if (result.success) return { ok: true, values: result.data as StepValues<S> };
  const errors: Record<string, string> = {};
  for (const issue of result.error.issues) {
    const field = String(issue.path[0] ?? '_');
    errors[field] ??= issue.code === 'invalid_type' ? 'required' : issue.message;
  }
  return { ok: false, errors };
}

/** What the wizard's answers change in the configuration file (only keys the wizard owns). */
export function configPatch(all: { [S in StepId]?: StepValues<S> }): Record<string, unknown> {
  const { identite, reseau, pacs, ris, certificat, dmp, psc, pin } = all;
  const retour = all['pacs-retour'];
  return {
    box: { ...(identite && { name: identite.boxName }), ...(pacs && { aeTitle: pacs.boxAeTitle }), ...(reseau && { publicBaseUrl: reseau.publicBaseUrl }) },
    pacs: { ...(pacs && { aeTitle: pacs.pacsAeTitle, host: pacs.pacsHost, port: pacs.pacsPort, dicomwebUrl: pacs.dicomwebUrl }), ...(retour && { retrieve: retour.retrieve }) },
    // The portal is served on the same public listener: PSC's redirect URI is `<origin>/portal/callback`.
    ...(reseau && { consumer: { publicBaseUrl: new URL(reseau.publicBaseUrl).origin } }),
    ...(ris && { ris: { allowedAddresses: ris.risAddress ? [ris.risAddress] : [] } }),
    xds: {
      ...(identite && { structure: { id: identite.structureId, name: identite.structureName } }),
      ...(certificat && {
        caFile: certificat.caFile,
        tlsP12File: certificat.p12File,
        tlsP12Password: certificat.p12Password,
        signatureP12File: certificat.p12File,
        signatureP12Password: certificat.p12Password,
      }),
      ...(dmp && { baseUrl: dmp.baseUrl }),
    },
    ...(psc && { psc: { issuer: psc.issuer, clientId: psc.clientId, clientSecret: psc.clientSecret } }),
    setup: { ...(pin && { adminPinHash: pin.pinHash }) },
  };
}
