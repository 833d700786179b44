import { describe, expect, it } from 'vitest';
import { checkStructureId, luhnValid } from '../../appliance/src/setup/identifiers.js';
import { checkStep, configPatch, DMP_TEST_BASE_URL, PSC_ISSUERS } from '../../appliance/src/setup/steps.js';
import { configSchema } from '../../appliance/src/config/schema.js';

describe('practice identifiers', () => {
  it('checks FINESS, SIRET and RPPS keys (Luhn) and builds the national structure id', () => {
    expect(luhnValid('750712184')).toBe(true); // AP-HP's FINESS
    expect(checkStructureId('750 712 184')).toEqual({ ok: true, structureId: '1750712184', kind: 'finess' });
    expect(checkStructureId('750712185')).toEqual({ ok: false, why: 'check-digit' });
    expect(checkStructureId('499700367909006')).toEqual({ ok: true, structureId: '499700367909006', kind: 'rpps-rang' });
    expect(checkStructureId('499700367919006')).toEqual({ ok: false, why: 'check-digit' });
    expect(checkStructureId('2A0000001').ok).toBe(true);
    expect(checkStructureId('12345')).toEqual({ ok: false, why: 'format' });
  });
});

describe('wizard steps', () => {
  it('say what is wrong per field, as codes', () => {
    const r = checkStep('pacs', { pacsAeTitle: 'pacs\\x', pacsHost: '', pacsPort: '70000', boxAeTitle: 'drimbox', dicomwebUrl: 'ftp://x' });
    expect(r).toEqual({ ok: false, errors: { pacsAeTitle: 'ae-title', pacsHost: 'required', pacsPort: 'port', dicomwebUrl: 'url' } });
    const ok = checkStep('pacs', { pacsAeTitle: 'orthanc', pacsHost: '10.0.0.5', pacsPort: '104', boxAeTitle: 'drimbox', dicomwebUrl: '' });
    expect(ok).toEqual({ ok: true, values: { pacsAeTitle: 'ORTHANC', pacsHost: '10.0.0.5', pacsPort: 104, boxAeTitle: 'DRIMBOX', dicomwebUrl: '' } });
    expect(checkStep('identite', { structureName: 'Cabinet', structureId: '750712185', boxName: 'Box' })).toEqual({ ok: false, errors: { structureId: 'structure-id-key' } });
  });

  it('give a configuration patch the start-up schema accepts', () => {
    const values = {
      identite: { structureName: 'Cabinet du Parc', structureId: '1750712184', boxName: 'Salle 1' },
      reseau: { publicBaseUrl: 'https://drimbox.cabinet.fr:8080/dicom-web' },
      pacs: { pacsAeTitle: 'PACS', pacsHost: '10.0.0.5', pacsPort: 104, boxAeTitle: 'DRIMBOX', dicomwebUrl: '' },
      'pacs-retour': { retrieve: 'C-MOVE' as const },
      ris: { risAddress: '10.0.0.9' },
      certificat: { p12File: '/data/certificats/structure.p12', p12Password: 'x', caFile: '/data/certificats/autorites-dmp.pem' },
      dmp: { environment: 'test' as const, baseUrl: DMP_TEST_BASE_URL },
      psc: { environment: 'bas' as const, issuer: PSC_ISSUERS.bas, clientId: 'id', clientSecret: 'secret' },
      pin: { pinHash: 'scrypt$32768$8$1$AAAA$BBBB' },
    };
    const patch = configPatch(values);
    const config = configSchema.parse(patch);
    expect(config.pacs).toMatchObject({ aeTitle: 'PACS', host: '10.0.0.5', port: 104, retrieve: 'C-MOVE' });
    expect(config.xds).toMatchObject({ baseUrl: DMP_TEST_BASE_URL, tlsP12File: '/data/certificats/structure.p12', signatureP12File: '/data/certificats/structure.p12', structure: { id: '1750712184', name: 'Cabinet du Parc' } });
    expect(config.consumer.publicBaseUrl).toBe('https://drimbox.cabinet.fr:8080');
    expect(config.ris.allowedAddresses).toEqual(['10.0.0.9']);
    expect(config.setup.adminPinHash).toBe('scrypt$32768$8$1$AAAA$BBBB');
  });

  it('take the DMP and PSC addresses from the presets unless "autre" is chosen', () => {
    expect(checkStep('dmp', { environment: 'test', baseUrl: '' })).toMatchObject({ ok: true, values: { baseUrl: DMP_TEST_BASE_URL } });
    expect(checkStep('dmp', { environment: 'autre', baseUrl: 'http://dmp.example' })).toEqual({ ok: false, errors: { baseUrl: 'https-url' } });
    expect(checkStep('psc', { environment: 'production', issuer: '', clientId: 'a', clientSecret: 'b' })).toMatchObject({ ok: true, values: { issuer: PSC_ISSUERS.production } });
  });
});
