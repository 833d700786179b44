import { z } from 'zod';

/**
 * The `xds` section of the box configuration, to be mounted as `xds: xdsConfigSchema.prefault({})` in
 * config/schema.ts (this module depends on zod only). Values with no safe default are empty; they are checked
 * when a DMP transaction is prepared (contextFromConfig, endpointsFromConfig).
 */
const oid = z.string().regex(/^$|^[12](\.(0|[1-9][0-9]*))+$/, 'dotted numeric OID');
const code = (c: string, display: string) => z.object({ code: z.string().min(1), display: z.string() }).prefault({ code: c, display });

export const xdsConfigSchema = z.object({
  /** DMP services base, e.g. https://lps.dev9.dmp.gouv.fr/si-dmp-server/v2/services; /registry and /repository under it. */
  baseUrl: z.string().default(''),
  /** Per-service overrides of baseUrl (empty: derived). */
  registryUrl: z.string().default(''),
  repositoryUrl: z.string().default(''),
  /** PEM bundle of the CAs the DMP's server certificate must chain to (IGC-Santé). */
  caFile: z.string().default(''),
  /** The structure's ORG AUTH_CLI certificate (TLS client authentication). */
  tlsP12File: z.string().default(''),
  tlsP12Password: z.string().default(''),
  /** The structure's signature certificate (VIHF, XAdES); may be the same file. */
  signatureP12File: z.string().default(''),
  signatureP12Password: z.string().default(''),
  /** XDSSubmissionSet.sourceId: an OID the box's operator owns; SubmissionSet uniqueIds are made under it. */
  sourceIdOid: oid.default(''),
  lps: z
    .object({
      id: z.string().default(''),
      name: z.string().default('DRIMbox'),
      version: z.string().default('0.1.0'),
      homologationId: z.string().default(''),
    })
    .prefault({}),
  structure: z.object({ id: z.string().default(''), name: z.string().default('') }).prefault({}),
  facilityType: code('SA08', 'Cabinet de groupe'),
  practiceSetting: code('AMBULATOIRE', 'Ambulatoire'),
  contentType: z
    .object({ code: z.string().min(1), scheme: oid, display: z.string() })
    .prefault({ code: '07', scheme: '1.2.250.1.213.2.2', display: 'Consultation Soins Externes' }),
  profession: code('10', 'Médecin'),
  specialty: code('SM44', 'Radio-diagnostic (SM)'),
  vihfMode: z.enum(['INDIRECTE', 'INDIRECTE_RENFORCEE']).default('INDIRECTE'),
  signatureAlgorithm: z.enum(['rsa-sha256', 'rsa-sha1']).default('rsa-sha256'),
  connectTimeoutMs: z.number().int().min(1).default(10_000),
  idleTimeoutMs: z.number().int().min(1).default(60_000),
});

export type XdsConfig = z.infer<typeof xdsConfigSchema>;
