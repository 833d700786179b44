import { describe, expect, it } from 'vitest';
import { readNamedFile } from '../../appliance/src/config/named-file.js';
import { FileSigner } from '../../appliance/src/auth/signer/file-signer.js';
import { CredentialError } from '../../appliance/src/auth/signer/signer.js';
import { structureCredentials } from '../../appliance/src/auth/structure-credentials.js';
import { pkcs11ConfigSchema } from '../../appliance/src/auth/pkcs11/config-schema.js';

class SomeError extends Error {}

describe('a file a setting names', () => {
  it('is read whole, or refused with the caller’s error naming the setting, the path and the reason', () => {
    expect(readNamedFile(new URL(import.meta.url).pathname, 'this test', (m) => new SomeError(m)).toString()).toContain('readNamedFile');
    const fails = () => readNamedFile('/nonexistent/ca.pem', 'xds.caFile', (m) => new SomeError(m));
    expect(fails).toThrow(SomeError);
    expect(fails).toThrow('cannot read xds.caFile /nonexistent/ca.pem: ENOENT');
  });

  it('says the same from the signer files and the structure’s credentials', () => {
    expect(() => FileSigner.fromPkcs12File('/nonexistent/org.p12', 'x')).toThrow(new CredentialError('cannot read PKCS#12 file /nonexistent/org.p12: ENOENT'));
    const files = { tlsP12File: '/nonexistent/org.p12', tlsP12Password: '', signatureP12File: '', signatureP12Password: '' };
    expect(() => structureCredentials(files, pkcs11ConfigSchema.parse({}).structure)).toThrow(new CredentialError('cannot read xds.signatureP12File /nonexistent/org.p12: ENOENT'));
  });
});
