import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePscUserInfo, type PscClient } from '../../appliance/src/auth/psc/index.js';
import type { PortalUser } from '../../appliance/src/auth/session/index.js';
import type { ConsumerSettings, DmpConsumerPort } from '../../appliance/src/consumer/index.js';
import type { PacsBridge } from '../../appliance/src/dimse/types.js';
import type { DocumentEntry, VihfSubject } from '../../appliance/src/xds/index.js';
import { TEST_PROFESSIONALS } from '../peers/psc-sim/professionals.js';
import type { MiniStudy } from '../fixtures/mini-instances.js';
import type { KosManifest } from '../../appliance/src/dicom/kos/index.js';
import { manifestOfStudy } from '../fixtures/kos-manifest.js';
import { openDatabase, type Db } from '../../appliance/src/store/database.js';
import { m001Meta } from '../../appliance/src/store/migrations/001-meta.js';
import { m003Audit } from '../../appliance/src/store/migrations/003-audit.js';
import { m005Consumer } from '../../appliance/src/store/migrations/005-consumer.js';
import { m007ConsumerRefreshToken } from '../../appliance/src/store/migrations/007-consumer-refresh-token.js';

/**
 * Shared pieces of the consumer tests. Migrations are renumbered while the lead has not registered 003–006 in
 * store/migrations/index.ts (the dicomweb tests do the same).
 */
export const CONSUMER_MIGRATIONS = [m001Meta, { ...m003Audit, version: 2 }, { ...m005Consumer, version: 3 }, { ...m007ConsumerRefreshToken, version: 4 }];

export function consumerDb(file = ':memory:'): Db {
  return openDatabase(file, CONSUMER_MIGRATIONS);
}

/** A file's bytes as a source body: one chunk. */
export async function* fileBody(path: string): AsyncGenerator<Buffer> {
  yield readFileSync(path);
}

export const CLAIRE: PortalUser = {
  sub: 'f:psc-sim:810000000001',
  subjectNameId: '810000000001',
  givenName: 'Claire',
  familyName: 'MARTIN',
  profession: '10',
  speciality: 'SM44',
  situations: [{ name: 'Cabinet de radiologie de Strasbourg', structureId: 'ST-67-001', legacyStructureId: '312345678900012', sector: 'SA07' }],
};

export const PAUL: PortalUser = {
  sub: 'f:psc-sim:810000000002',
  subjectNameId: '810000000002',
  givenName: 'Paul',
  familyName: 'DURAND',
  profession: '10',
  speciality: 'SM26',
  situations: [{ name: 'Cabinet du Dr Durand', structureId: 'ST-67-002', sector: 'SA07' }],
};

/** A complete, valid contextual call (Mr Bernard, test INS), as a form body; `patch` changes or removes (null) fields. */
export function contextBody(patch: Record<string, string | null> = {}): string {
  const base: Record<string, string> = {
    'Patient.identifier.value': '279035121518989',
    'Patient.identifier.system': '1.2.250.1.213.1.4.10',
    'Patient.name.family': 'BERNARD',
    'Patient.name.given': 'JEAN PIERRE',
    'Patient.gender': 'M',
    'Patient.birthDate': '1979-03-12',
    'Address.district': '97416',
    InformationEtConsentement: 'true',
    PatientID: 'IPP-0042',
    PatientIDIssuer: 'CABINET-STRAS&1.2.250.1.999.42.1&ISO',
    Situation: '311111111100011',
  };
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...base, ...patch })) if (v !== null) params.append(k, v);
  return params.toString();
}

// --------------------------------------------------------------------------------------- service fakes

export const FAKE_PSC_AUTHORIZE = 'https://psc.test/auth';

/**
 * A stand-in for the PSC client: the authorization URL carries the state; the callback's `code` names the test
 * professional (claire.martin, paul.durand) whose userinfo comes back. The real flow is in the integration tests.
 */
/** `withRefresh`: PSC gives refresh tokens (the real one does; each refresh hands out `access-<id>-r<n>`). */
export function fakePsc(options: { withRefresh?: boolean } = {}): PscClient & { logins: number; refreshes: number } {
  let n = 0;
  const fake = {
    issuer: 'https://psc.test',
    logins: 0,
    refreshes: 0,
    async startLogin(redirectUri: string) {
      const state = `state-${++n}`;
      return { url: new URL(`${FAKE_PSC_AUTHORIZE}?state=${state}`), pending: { state, nonce: `nonce-${n}`, codeVerifier: `verifier-${n}-${'x'.repeat(40)}`, redirectUri } };
    },
    async finishLogin(params: URLSearchParams, pending: { state: string }) {
      if (params.get('state') !== pending.state) throw Object.assign(new Error('state mismatch'), { failure: 'refused' });
      const pro = TEST_PROFESSIONALS.find((p) => p.id === params.get('code'));
      if (!pro) throw Object.assign(new Error('bad code'), { failure: 'refused' });
      fake.logins++;
      return { accessToken: `access-${pro.id}`, idToken: `id-${pro.id}`, ...(options.withRefresh ? { refreshToken: `refresh-${pro.id}` } : {}), expiresAt: Math.floor(Date.now() / 1000) + 300, sub: pro.sub, acr: 'eidas1' };
    },
    async userInfo(accessToken: string) {
      const pro = TEST_PROFESSIONALS.find((p) => accessToken === `access-${p.id}` || accessToken.startsWith(`access-${p.id}-r`))!;
      return parsePscUserInfo({ sub: pro.sub, ...pro.claims });
    },
    async refresh(refreshToken: string, expectedSub: string) {
      const pro = TEST_PROFESSIONALS.find((p) => refreshToken === `refresh-${p.id}` && p.sub === expectedSub);
      if (!pro) throw Object.assign(new Error('invalid_grant'), { failure: 'refused' });
      fake.refreshes++;
      return { accessToken: `access-${pro.id}-r${fake.refreshes}`, idToken: '', expiresAt: Math.floor(Date.now() / 1000) + 3600 * 24, sub: pro.sub, acr: 'eidas1' };
    },
    async introspect() {
      return { active: false } as never;
    },
    async logoutUrl(idTokenHint: string, post?: string) {
      return new URL(`https://psc.test/logout?id_token_hint=${idTokenHint}&post_logout_redirect_uri=${encodeURIComponent(post ?? '')}`);
    },
  };
  return fake;
}

export function kosEntry(overrides: Partial<DocumentEntry> = {}): DocumentEntry {
  return {
    entryUUID: 'urn:uuid:00000000-0000-4000-8000-000000000001',
    uniqueId: '1.2.826.0.1.3680043.10.1558.5.1',
    availabilityStatus: 'urn:oasis:names:tc:ebxml-regrep:StatusType:Approved',
    status: 'Approved',
    patientId: '279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH',
    mimeType: 'application/dicom',
    repositoryUniqueId: '1.2.250.1.213.4.1.1.1',
    serviceStartTime: '20260115093000',
    comments: 'Scanner cérébral sans injection',
    typeCode: { code: 'IMG-KOS', scheme: '1.2.250.1.213.1.1.4.12', display: '' },
    confidentialityCodes: [],
    eventCodes: [],
    modalities: [{ code: 'CT', scheme: '1.2.250.1.213.1.1.5.618', display: 'Scanner' }],
    regions: [{ code: '69536005', scheme: '1.2.250.1.213.1.1.5.695', display: 'Tête' }],
    authors: [{ person: '810000000003^HOARAU^Marie', institutions: ['Imagerie médicale de Saint-Pierre^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^397410000000001'], roles: [], specialties: [] }],
    sourcePatientInfo: ['PID-5|BERNARD^JEAN^^^^^L', 'PID-7|19790312', 'PID-8|M'],
    referenceIds: [],
    slots: {},
    ...overrides,
  };
}

/** A DMP that answers ITI-18 with the given entries (per patient id) and records the VIHF subjects it saw. */
export function fakeDmp(entries: Record<string, DocumentEntry[]>): DmpConsumerPort & { subjects: VihfSubject[] } {
  const subjects: VihfSubject[] = [];
  const ok = <T>(value: T) => ({ kind: 'success' as const, value });
  return {
    subjects,
    async findDocuments(query, vihf) {
      subjects.push(vihf);
      return ok({ status: { status: 'Success', errors: [] }, documentEntries: entries[query.patientId] ?? [], objectRefs: [], submissionSets: [], associations: [] } as never);
    },
    async getDocuments(_query, vihf) {
      subjects.push(vihf);
      return { kind: 'permanent', code: 'XDSRegistryError', text: 'not in this fake' };
    },
    async retrieve(_requests, vihf) {
      subjects.push(vihf);
      return { kind: 'permanent', code: 'XDSRepositoryError', text: 'not in this fake' };
    },
  };
}

export const nullBridge: PacsBridge = {
  async echo() {},
  async *find() {},
  async retrieve() {
    throw new Error('not used');
  },
  async store() {
    return [];
  },
};

export function consumerSettings(dir: string): ConsumerSettings {
  return {
    publicBaseUrl: 'http://127.0.0.1:8080',
    cacheDir: join(dir, 'cache'),
    cacheMaxBytes: 256 * 1024 * 1024,
    tempDir: join(dir, 'tmp'),
    allowInsecureSourceHosts: true,
    sessionTtlMs: 3600_000,
    sessionIdleMs: 1800_000,
    secureCookies: true,
    contextTtlMs: 300_000,
    sourceConcurrency: 2,
    sourceResponseTimeoutMs: 10_000,
    sourceIdleTimeoutMs: 10_000,
    viewerUrlTemplate: '/viewer/?study={study}&base=/portal/dicom-web',
    importAssociations: 2,
  };
}

/** A browser's cookie jar for app.request(): keeps what Set-Cookie says, sends it back. */
export class Browser {
  private readonly jar = new Map<string, string>();
  constructor(private readonly fetcher: (path: string, init: RequestInit) => Promise<Response> | Response) {}

  async go(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.jar.size) headers.set('cookie', [...this.jar].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await this.fetcher(path, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (!value || /Max-Age=0/i.test(line)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return res;
  }

  post(path: string, form: string | Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    const body = typeof form === 'string' ? form : new URLSearchParams(form).toString();
    return this.go(path, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
  }

  cookie(name: string): string | undefined {
    return this.jar.get(name);
  }
}

/** The KOS manifest of a mini study, every series retrieved from `base`. */
export function miniStudyManifest(s: MiniStudy, base: string): KosManifest {
  return manifestOfStudy(s, '1.2.826.0.1.3680043.10.1558.99.1', base);
}
