import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REFERENCE_DIR } from '../peers/dmp-sim/codes.js';
import { post, readAnswer } from '../peers/dmp-sim/testing/client.js';
import { startTestDmp, type TestDmp } from '../peers/dmp-sim/testing/fixture.js';

/**
 * The ANS/b<>com ITI-41 samples against the strict simulator. The DMP test platform accepted them
 * in 2023, but they break ebRIM 3.0 (referenceIdList Slot after the Classifications) and their VIHF
 * cannot be verified here: the simulator must refuse them, for those exact reasons.
 */

const MIME_SAMPLE = join(REFERENCE_DIR, 'spec/xds/bcom-iti41-provide-and-register-kos.mime.txt');
const XDS_SAMPLE = join(REFERENCE_DIR, 'ansforge/DRIM-M_DATA/echantillons-validateurs/xds/XDS.xml');
const BOUNDARY = 'MIMEBoundary_Bound';

/** The parts of the b<>com sample. Its MIME delimiters are indented in the file, so the parts are cut out and re-framed. */
function samplePieces(): { envelope: string; signature: Buffer; kos: Buffer } {
  const text = readFileSync(MIME_SAMPLE, 'utf8');
  const envStart = text.indexOf('<?xml version="1.0" encoding="UTF-8"?><soap:Envelope');
  const envEnd = text.indexOf('</soap:Envelope>') + '</soap:Envelope>'.length;
  const sigStart = text.indexOf('<?xml version="1.0"?>', envEnd);
  const sigEnd = text.indexOf('</Signature>', sigStart) + '</Signature>'.length;
  const kosStart = text.indexOf('\n\n', text.indexOf('Content-ID: <0.2>')) + 2;
  const kosEnd = text.indexOf(`--${BOUNDARY}--`, kosStart);
  return {
    envelope: text.slice(envStart, envEnd),
    signature: Buffer.from(text.slice(sigStart, sigEnd), 'utf8'),
    kos: Buffer.from(text.slice(kosStart, kosEnd).trim(), 'base64'),
  };
}

/** Frames the pieces as the ANS demonstrator did (same boundary, Content-IDs and Content-Type, with CRLF). */
function ansMtom(envelope: string, kos: Buffer, signature: Buffer): { contentType: string; body: Buffer } {
  const part = (headers: string[], body: Buffer) => Buffer.concat([Buffer.from(`--${BOUNDARY}\r\n${headers.join('\r\n')}\r\n\r\n`), body, Buffer.from('\r\n')]);
  return {
    contentType: `multipart/related;boundary="${BOUNDARY}";type="application/xop+xml";start="<0.1>";start-info="application/soap+xml";action="urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"`,
    body: Buffer.concat([
      part(['Content-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"; action="DocumentRepository_ProvideAndRegisterDocumentSet-b"', 'Content-Transfer-Encoding: binary', 'Content-ID: <0.1>'], Buffer.from(envelope, 'utf8')),
      part(['Content-Type: application/octet-stream', 'Content-Transfer-Encoding: binary', 'Content-ID: <0.2>'], kos),
      part(['Content-Type: application/octet-stream', 'Content-Transfer-Encoding: binary', 'Content-ID: <0.3>'], signature),
      Buffer.from(`--${BOUNDARY}--\r\n`),
    ]),
  };
}

/** Moves each referenceIdList Slot before the Name of its ExtrinsicObject, where ebRIM wants it. */
function reorderSlots(envelope: string): string {
  return envelope.replace(/(<ExtrinsicObject\b[\s\S]*?)(\s*<Name>[\s\S]*?)(\s*<Slot name="urn:ihe:iti:xds:2013:referenceIdList">[\s\S]*?<\/Slot>)/g, '$1$3$2');
}

function withCertificate(envelope: string, certPem: string): string {
  const der = new X509Certificate(certPem).raw.toString('base64');
  return envelope.replace(/(<ds:X509Certificate>)\s*XXXXXXX\s*(<\/ds:X509Certificate>)/, `$1${der}$2`);
}

describe('DMP simulator: the ANS ITI-41 samples', () => {
  let dmp: TestDmp;
  let pieces: ReturnType<typeof samplePieces>;
  beforeAll(async () => {
    dmp = await startTestDmp();
    pieces = samplePieces();
  });
  afterAll(async () => {
    await dmp?.close();
  });

  const send = async (envelope: string) => readAnswer(await post(dmp.sim.repositoryUrl, dmp.tls, ansMtom(envelope, pieces.kos, pieces.signature)));

  it('extracts the sample faithfully (a DICOM KOS and the XAdES signature)', () => {
    expect(pieces.kos.toString('latin1', 128, 132)).toBe('DICM');
    expect(pieces.signature.toString('utf8')).toContain('Id="IHEManifest"');
    expect(pieces.envelope.match(/<Slot name="urn:ihe:iti:xds:2013:referenceIdList">/g)).toHaveLength(2);
  });

  it.each([
    ['b<>com MTOM request', () => pieces.envelope],
    ['ANS XD* validator XDS.xml', () => readFileSync(XDS_SAMPLE, 'utf8')],
  ])('refuses the %s: referenceIdList Slot after the Classifications (ebRIM 3.0)', async (_name, envelope) => {
    const answer = await send(envelope());
    expect(answer.fault).toBeUndefined();
    expect(answer.status).toBe('Failure');
    const schemaErrors = answer.errors.filter((e) => e.severity === 'Error');
    expect(schemaErrors).toHaveLength(2); // the KOS entry and the signature entry
    for (const e of schemaErrors) {
      expect(e.code).toBe('XDSRegistryMetadataError');
      expect(e.context).toMatch(/Element '\{urn:oasis:names:tc:ebxml-regrep:xsd:rim:3\.0\}Slot': This element is not expected/);
      expect(e.context).toContain('Slots come first');
    }
    // What the DMP test platform tolerated is reported, not refused.
    const warnings = answer.errors.filter((e) => e.severity === 'Warning').map((e) => e.context).join('\n');
    expect(warnings).toContain('mustUnderstand without the SOAP 1.2 namespace');
    expect(warnings).toContain(`root part's action "DocumentRepository_ProvideAndRegisterDocumentSet-b"`);
    expect(dmp.sim.db.allEntries()).toHaveLength(0);
  });

  it('refuses the corrected sample on its VIHF: the certificate is elided in the sample', async () => {
    const answer = await send(reorderSlots(pieces.envelope));
    expect(answer.fault?.subcode).toBe('wsse:InvalidSecurityToken');
    expect(answer.fault?.reason).toMatch(/^VIHF signature: the X509Certificate is not a readable X\.509 certificate/);
  });

  it('refuses the corrected sample signed by a certificate from another CA', async () => {
    const rogue = readFileSync(dmp.pki.untrusted.certPem, 'utf8');
    const answer = await send(withCertificate(reorderSlots(pieces.envelope), rogue));
    expect(answer.fault?.subcode).toBe('wsse:InvalidSecurityToken');
    expect(answer.fault?.reason).toContain("is not issued by the DMP's trusted CA");
    expect(answer.fault?.reason).toContain('ROGUE TEST CA');
  });

  it('refuses the corrected sample carrying a certificate of our CA: the signature value is not that key', async () => {
    const ours = readFileSync(dmp.pki.signature.certPem, 'utf8');
    const answer = await send(withCertificate(reorderSlots(pieces.envelope), ours));
    expect(answer.fault?.subcode).toBe('wsse:FailedCheck');
    expect(answer.fault?.reason).toMatch(/^VIHF signature does not verify/);
    expect(dmp.sim.db.allEntries()).toHaveLength(0);
  });
});
