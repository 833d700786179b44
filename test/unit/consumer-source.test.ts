import { describe, expect, it } from 'vitest';
import type { Whitelist } from '../../appliance/src/auth/whitelist/index.js';
import { examFromEntry, sortExams, traitsFromEntries } from '../../appliance/src/consumer/exams.js';
import { SOURCE_ACCEPT } from '../../appliance/src/consumer/source-client.js';
import { checkRetrieveUrl, type SourcePolicy } from '../../appliance/src/consumer/source-url.js';
import { consumerVihfSubject } from '../../appliance/src/consumer/vihf-subject.js';
import { consumerConfigSchema, consumerSettingsFrom } from '../../appliance/src/consumer/index.js';
import { parseAccept } from '../../appliance/src/dicomweb/accept.js';
import { sampleContext } from './xds-helpers.js';
import { CLAIRE, kosEntry } from './consumer-helpers.js';

const ST = '1.2.826.0.1.3680043.10.1558.4.1';
const SE = '1.2.826.0.1.3680043.10.1558.4.1.1';

const whitelist = {
  domains: [
    {
      identifiant: '1',
      db: 'db1.974.mesimagesmedicales.fr',
      vi: 'vi1.974.mesimagesmedicales.fr',
      denomination: 'Imagerie de Saint-Pierre',
      operatorCertificateDn: 'CN=db1.974.mesimagesmedicales.fr',
      operatorDn: [],
      supportContact: '',
      updatedAt: new Date(),
    },
  ],
} as unknown as Whitelist;

const strict: SourcePolicy = { whitelist: () => whitelist, allowInsecureSourceHosts: false };
const demo: SourcePolicy = { whitelist: () => undefined, allowInsecureSourceHosts: true };

describe('Retrieve URLs of a KOS: where the consumer may pull from', () => {
  it('takes a whitelisted DRIMbox over HTTPS, at series or study level', () => {
    const series = checkRetrieveUrl(`https://db1.974.mesimagesmedicales.fr/dicom-web/studies/${ST}/series/${SE}`, ST, SE, strict);
    expect(series).toEqual({ ok: true, seriesUrl: new URL(`https://db1.974.mesimagesmedicales.fr/dicom-web/studies/${ST}/series/${SE}`), source: 'db1.974.mesimagesmedicales.fr' });
    const study = checkRetrieveUrl(`https://DB1.974.mesimagesmedicales.fr/dicom-web/studies/${ST}/`, ST, SE, strict);
    expect(study.ok && study.seriesUrl.href).toBe(`https://db1.974.mesimagesmedicales.fr/dicom-web/studies/${ST}/series/${SE}`);
    // Another port or prefix only when the practice configured it (consumer.sourcePorts, consumer.sourcePathPrefix).
    const configured: SourcePolicy = { ...strict, sourcePorts: [443, 8443], sourcePathPrefix: '/wado' };
    const elsewhere = checkRetrieveUrl(`https://DB1.974.mesimagesmedicales.fr:8443/wado/studies/${ST}/`, ST, SE, configured);
    expect(elsewhere.ok && elsewhere.seriesUrl.href).toBe(`https://db1.974.mesimagesmedicales.fr:8443/wado/studies/${ST}/series/${SE}`);
  });

  it('sends the professional\'s token to a whitelisted host on 443 under /dicom-web only', () => {
    expect(checkRetrieveUrl(`https://db1.974.mesimagesmedicales.fr:8443/dicom-web/studies/${ST}/series/${SE}`, ST, SE, strict)).toMatchObject({ ok: false, reason: expect.stringMatching(/port 443 \(port 8443 refusé\)/) });
    expect(checkRetrieveUrl(`https://db1.974.mesimagesmedicales.fr/admin/studies/${ST}/series/${SE}`, ST, SE, strict)).toMatchObject({ ok: false, reason: expect.stringMatching(/sous \/dicom-web\//) });
  });

  it.each([
    [`https://db9.attacker.example/dicom-web/studies/${ST}/series/${SE}`, 'liste blanche'],
    [`https://vi1.974.mesimagesmedicales.fr/dicom-web/studies/${ST}/series/${SE}`, 'liste blanche'], // a viewer host serves no WADO-RS
    [`http://db1.974.mesimagesmedicales.fr/dicom-web/studies/${ST}/series/${SE}`, 'HTTPS'],
    [`https://db1.974.mesimagesmedicales.fr/dicom-web/studies/${ST}/series/1.2.3`, "ne désigne pas"],
    [`https://db1.974.mesimagesmedicales.fr/dicom-web/studies/1.2.3/series/${SE}`, "ne désigne pas"],
    [`https://user:pw@db1.974.mesimagesmedicales.fr/dicom-web/studies/${ST}/series/${SE}`, 'identifiants'],
    [`https://db1.974.mesimagesmedicales.fr/dicom-web/studies/${ST}/series/${SE}?x=1`, 'requête'],
    ['null/studies/x', "n'est pas une URL"],
    [undefined, 'Retrieve URL'],
  ])('refuses %s', (url, words) => {
    const r = checkRetrieveUrl(url, ST, SE, strict);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toContain(words);
  });

  it('without a verified whitelist, no remote host; loopback only when the demo setting allows it', () => {
    const none: SourcePolicy = { whitelist: () => undefined, allowInsecureSourceHosts: false };
    expect(checkRetrieveUrl(`https://db1.974.mesimagesmedicales.fr/dicom-web/studies/${ST}/series/${SE}`, ST, SE, none)).toMatchObject({ ok: false });
    expect(checkRetrieveUrl(`http://127.0.0.1:8042/dicom-web/studies/${ST}/series/${SE}`, ST, SE, none)).toMatchObject({ ok: false });
    expect(checkRetrieveUrl(`http://127.0.0.1:8042/dicom-web/studies/${ST}/series/${SE}`, ST, SE, demo)).toMatchObject({ ok: true, source: '127.0.0.1:8042' });
    expect(checkRetrieveUrl(`http://db1.974.mesimagesmedicales.fr/dicom-web/studies/${ST}/series/${SE}`, ST, SE, demo)).toMatchObject({ ok: false });
  });

  it('asks the source for instances as stored first, then the ANS validator list', () => {
    const ranges = parseAccept(SOURCE_ACCEPT);
    expect(ranges[0]?.params.get('transfer-syntax')).toBe('*');
    expect(ranges.map((r) => r.params.get('transfer-syntax'))).toContain('1.2.840.10008.1.2.4.70');
    expect(ranges.at(-1)?.params.get('transfer-syntax')).toBe('1.2.840.10008.1.2.1');
  });
});

describe('exams from ITI-18 entries', () => {
  it('shows date, modality, region, description, producing facility, status, and the study it names', () => {
    const e = examFromEntry(
      kosEntry({ referenceIds: [{ value: ST, type: 'urn:ihe:iti:xds:2016:studyInstanceUID', raw: `${ST}^^^^urn:ihe:iti:xds:2016:studyInstanceUID` }, { value: 'ACC-1', type: 'urn:ihe:iti:xds:2013:accession', raw: '' }] }),
    );
    expect(e).toEqual({
      documentUniqueId: '1.2.826.0.1.3680043.10.1558.5.1',
      repositoryUniqueId: '1.2.250.1.213.4.1.1.1',
      date: '20260115093000',
      modalities: ['CT'],
      regions: ['Tête'],
      description: 'Scanner cérébral sans injection',
      facility: 'Imagerie médicale de Saint-Pierre',
      status: 'Approved',
      studyInstanceUid: ST,
      accessionNumber: 'ACC-1',
    });
    const sorted = sortExams([examFromEntry(kosEntry({ serviceStartTime: '2019' })), e, examFromEntry(kosEntry({ serviceStartTime: undefined, creationTime: undefined }))]);
    expect(sorted.map((x) => x.date)).toEqual(['20260115093000', '2019', undefined]);
    expect(traitsFromEntries([kosEntry()])).toEqual({ birthName: 'BERNARD', firstGivenName: 'JEAN', birthDate: '1979-03-12', sex: 'M' });
  });

  it('the VIHF names the professional at the screen, in the situation asked for', () => {
    const subject = consumerVihfSubject(CLAIRE, CLAIRE.situations[0], { value: '279035121518989', oid: '1.2.250.1.213.1.4.10' }, sampleContext());
    expect(subject).toEqual({
      nameId: '810000000001',
      subjectName: 'Claire MARTIN',
      structureId: '312345678900012',
      facilityTypeCode: 'SA07',
      roles: [
        { code: '10', scheme: '1.2.250.1.71.1.2.7', display: 'Médecin' },
        { code: 'SM44', scheme: '1.2.250.1.71.4.2.5', display: 'Radio-diagnostic' },
      ],
      patientId: '279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH',
      mode: 'INDIRECTE',
    });
    const noSituation = consumerVihfSubject({ ...CLAIRE, situations: [] }, undefined, { value: '279035121518989', oid: '1.2.250.1.213.1.4.10' }, sampleContext());
    expect(noSituation.structureId).toBe(sampleContext().structure.id);
  });
});

describe('consumer configuration', () => {
  it('has safe defaults and maps onto the service settings', () => {
    const cfg = consumerConfigSchema.parse({});
    expect(cfg).toMatchObject({ allowInsecureSourceHosts: false, secureCookies: true, cacheMaxBytes: 20 * 1024 ** 3, sessionIdleMinutes: 30, sessionTtlMinutes: 720 });
    const s = consumerSettingsFrom(cfg, { dataDir: '/data', httpPort: 8080 });
    expect(s).toMatchObject({
      publicBaseUrl: 'http://127.0.0.1:8080',
      cacheDir: '/data/consumer-cache',
      tempDir: '/data/tmp/consumer',
      sessionIdleMs: 30 * 60_000,
      contextTtlMs: 300_000,
      viewerUrlTemplate: '/viewer/?study={study}&base=/portal/dicom-web',
    });
    expect(() => consumerConfigSchema.parse({ cacheMaxBytes: 1000 })).toThrow();
  });
});
