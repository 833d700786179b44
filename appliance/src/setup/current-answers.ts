import type { Config } from '../config/schema.js';
import type { StepAnswers } from './draft-store.js';
import { DMP_TEST_BASE_URL, PSC_ISSUERS, type StepId } from './steps.js';

/**
 * A step's answers as the running configuration gives them: the box's settings when it is set up; on a first run only
 * the suggestions a technician keeps most of the time (the embedded defaults are a test bed's, not a practice's).
 */
export function answersFromConfig(step: StepId, c: Config): StepAnswers {
  const setUp = c.setup.completedAt !== '';
  switch (step) {
    case 'identite':
      return setUp ? { structureName: c.xds.structure.name, structureId: c.xds.structure.id, boxName: c.box.name } : {};
    case 'reseau':
      return setUp ? { publicBaseUrl: c.box.publicBaseUrl } : {};
    case 'pacs':
      return setUp
        ? { pacsAeTitle: c.pacs.aeTitle, pacsHost: c.pacs.host, pacsPort: String(c.pacs.port), boxAeTitle: c.box.aeTitle, dicomwebUrl: c.pacs.dicomwebUrl }
        : { boxAeTitle: c.box.aeTitle, dicomwebUrl: '' };
    case 'pacs-retour':
      return setUp ? { retrieve: c.pacs.retrieve } : {};
    case 'ris':
      return { risAddress: setUp ? (c.ris.allowedAddresses[0] ?? '') : '' };
    case 'certificat':
      return setUp ? { p12File: c.xds.tlsP12File, p12Password: c.xds.tlsP12Password, caFile: c.xds.caFile } : {};
    case 'dmp':
      if (!setUp) return { environment: 'test', baseUrl: '' };
      return c.xds.baseUrl === DMP_TEST_BASE_URL ? { environment: 'test', baseUrl: '' } : { environment: 'autre', baseUrl: c.xds.baseUrl };
    case 'psc': {
      const env = (Object.entries(PSC_ISSUERS).find(([, url]) => url === c.psc.issuer)?.[0] ?? 'autre') as string;
      return setUp ? { environment: env, issuer: env === 'autre' ? c.psc.issuer : '', clientId: c.psc.clientId, clientSecret: c.psc.clientSecret } : { environment: 'bas', issuer: '' };
    }
    case 'pin':
      return setUp && c.setup.adminPinHash ? { pinHash: c.setup.adminPinHash } : {};
    case 'resume':
      return {};
  }
}
