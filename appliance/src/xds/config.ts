import { endpointsFromBase, type DmpEndpoints } from './client.js';
import { OID } from './codes.js';
import type { XdsConfig } from './config-schema.js';
import type { HttpTimeouts } from './transport.js';
import type { XdsSubmissionContext } from './types.js';

export { xdsConfigSchema, type XdsConfig } from './config-schema.js';

export class XdsConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XdsConfigError';
  }
}

export function contextFromConfig(cfg: XdsConfig): XdsSubmissionContext {
  const missing = [
    ['xds.sourceIdOid', cfg.sourceIdOid],
    ['xds.structure.id', cfg.structure.id],
    ['xds.lps.id', cfg.lps.id],
    ['xds.lps.homologationId', cfg.lps.homologationId],
  ].filter(([, v]) => !v).map(([k]) => k);
  if (missing.length) throw new XdsConfigError(`DMP publication needs ${missing.join(', ')} in the configuration`);
  return {
    lps: cfg.lps,
    structure: { id: cfg.structure.id, name: cfg.structure.name || cfg.structure.id },
    sourceIdOid: cfg.sourceIdOid,
    facilityType: cfg.facilityType,
    practiceSetting: cfg.practiceSetting,
    contentType: cfg.contentType,
    authorRole: {
      profession: { ...cfg.profession, scheme: OID.professionVihf },
      specialty: { ...cfg.specialty, scheme: OID.specialtyVihf },
    },
    vihf: { mode: cfg.vihfMode },
    signatureAlgorithm: cfg.signatureAlgorithm,
  };
}

export function endpointsFromConfig(cfg: XdsConfig): DmpEndpoints {
  const derived = cfg.baseUrl ? endpointsFromBase(cfg.baseUrl) : undefined;
  const registryUrl = cfg.registryUrl || derived?.registryUrl;
  const repositoryUrl = cfg.repositoryUrl || derived?.repositoryUrl;
  if (!registryUrl || !repositoryUrl) throw new XdsConfigError('set xds.baseUrl (or xds.registryUrl and xds.repositoryUrl)');
  return { registryUrl, repositoryUrl };
}

export function timeoutsFromConfig(cfg: XdsConfig): HttpTimeouts {
  return { connectMs: cfg.connectTimeoutMs, idleMs: cfg.idleTimeoutMs };
}
