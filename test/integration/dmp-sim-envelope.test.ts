import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post, readAnswer, type Tls } from '../peers/dmp-sim/testing/client.js';
import { startTestDmp, type TestDmp } from '../peers/dmp-sim/testing/fixture.js';
import { buildFindDocuments, buildIti41 } from '../peers/dmp-sim/testing/requests.js';

/** Transport, SOAP envelope, WS-Addressing and VIHF checks: each refusal names its reason. */
describe('DMP simulator: transport, envelope and VIHF', () => {
  let dmp: TestDmp;
  beforeAll(async () => {
    dmp = await startTestDmp();
  });
  afterAll(async () => {
    await dmp?.close();
  });

  const query = () => buildFindDocuments(dmp.sim.registryUrl, dmp.caller, ['Approved']);
  const send = async (url: string, message: { contentType: string; body: Buffer }, tls: Tls = dmp.tls) => {
    const res = await post(url, tls, message);
    return { res, answer: readAnswer(res) };
  };

  describe('mutual TLS', () => {
    it('answers a client with the box certificate', async () => {
      const { res, answer } = await send(dmp.sim.registryUrl, query());
      expect(res.status).toBe(200);
      expect(answer.status).toBe('Success');
    });

    it('refuses a client without certificate at the TLS level', async () => {
      const before = dmp.sim.requests().length;
      await expect(post(dmp.sim.registryUrl, { ca: dmp.sim.caCertPem }, query())).rejects.toThrow(/certificate required|socket hang up|ECONNRESET|alert/i);
      expect(dmp.sim.requests()).toHaveLength(before);
    });

    it('refuses a client certificate issued by another CA at the TLS level', async () => {
      const rogue = dmp.pki.untrusted;
      const before = dmp.sim.requests().length;
      const tls = { ca: dmp.sim.caCertPem, cert: readFileSync(rogue.certPem, 'utf8'), key: readFileSync(rogue.keyPem, 'utf8') };
      await expect(post(dmp.sim.registryUrl, tls, query())).rejects.toThrow(/unknown ca|socket hang up|ECONNRESET|alert/i);
      expect(dmp.sim.requests()).toHaveLength(before);
    });

    it('refuses a certificate of its CA whose subject has no structure OU', async () => {
      const noOu = dmp.sim.issueCertificate({ name: 'no-ou', subject: '/C=FR/O=CABINET TEST/CN=DRIMbox', usage: 'client' });
      const { res, answer } = await send(dmp.sim.registryUrl, query(), { ca: dmp.sim.caCertPem, cert: noOu.certPem, key: noOu.keyPem });
      expect(res.status).toBe(403);
      expect(answer.fault?.reason).toContain('OU holding the structure identifier');
    });
  });

  describe('SOAP 1.2 and WS-Addressing', () => {
    it('answers VersionMismatch to SOAP 1.1', async () => {
      const soap11 = { contentType: 'text/xml; charset=UTF-8', body: Buffer.from('<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>') };
      const { res, answer } = await send(dmp.sim.registryUrl, soap11);
      expect(res.status).toBe(500);
      expect(answer.fault?.code).toBe('soap:VersionMismatch');
    });

    it('refuses an action served by the other endpoint', async () => {
      const { answer } = await send(dmp.sim.repositoryUrl, query());
      expect(answer.fault?.subcode).toBe('wsa:ActionNotSupported');
      expect(answer.fault?.reason).toContain('served at /registry');
    });

    it('refuses a transport action that differs from wsa:Action', async () => {
      const m = query();
      const { answer } = await send(dmp.sim.registryUrl, { ...m, contentType: m.contentType.replace(/action="[^"]+"/, 'action="urn:ihe:iti:2007:RetrieveDocumentSet"') });
      expect(answer.fault?.subcode).toBe('wsa:ActionMismatch');
    });

    it('requires wsa:MessageID and soap:mustUnderstand on wsa:Action', async () => {
      const noId = await send(dmp.sim.registryUrl, rewrite(query(), /<wsa:MessageID>[^<]+<\/wsa:MessageID>/, ''));
      expect(noId.answer.fault?.subcode).toBe('wsa:MessageAddressingHeaderRequired');
      const noMu = await send(dmp.sim.registryUrl, rewrite(query(), ' soap:mustUnderstand="true"', ''));
      expect(noMu.answer.fault?.reason).toContain('mustUnderstand');
    });

    it('tolerates an unqualified mustUnderstand on wsa:Action, as the DMP test platform did, with a Warning', async () => {
      const { answer } = await send(dmp.sim.registryUrl, rewrite(query(), ' soap:mustUnderstand="true"', ' mustUnderstand="true"'));
      expect(answer.status).toBe('Success');
      expect(answer.errors).toEqual([expect.objectContaining({ severity: 'Warning', context: expect.stringContaining('mustUnderstand without the SOAP 1.2 namespace') })]);
    });

    it('answers MustUnderstand to a header block it does not know', async () => {
      const { res, answer } = await send(dmp.sim.registryUrl, rewrite(query(), '<soap:Header>', '<soap:Header><x:Extra xmlns:x="urn:x" soap:mustUnderstand="true"/>'));
      expect(res.status).toBe(500);
      expect(answer.fault?.code).toBe('soap:MustUnderstand');
    });

    it('refuses a DOCTYPE (no entity expansion)', async () => {
      const { answer } = await send(dmp.sim.registryUrl, rewrite(query(), /^/, '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'));
      expect(answer.fault?.reason).toContain('DOCTYPE');
    });

    it('refuses ITI-41 sent without MTOM, and an xop:Include that resolves to no part', async () => {
      const iti41 = buildIti41(dmp.sim.repositoryUrl, dmp.caller, dmp.newKos());
      const text = iti41.body.toString('latin1');
      const root = text.slice(text.indexOf('<soap:Envelope'), text.indexOf('</soap:Envelope>') + '</soap:Envelope>'.length);
      const plain = await send(dmp.sim.repositoryUrl, { contentType: 'application/soap+xml; charset=UTF-8; action="urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"', body: Buffer.from(root, 'latin1') });
      expect(plain.answer.fault?.reason).toContain('MTOM');
      const dangling = await send(dmp.sim.repositoryUrl, rewrite(iti41, 'href="cid:kos@test"', 'href="cid:nowhere@test"'));
      expect(dangling.answer.fault?.reason).toContain('does not resolve to a MIME part');
    });
  });

  describe('VIHF', () => {
    it('refuses an assertion modified after signing', async () => {
      const { answer } = await send(dmp.sim.registryUrl, { ...query(), body: Buffer.from(query().body.toString('utf8').replace('<saml2:AttributeValue>DRIMbox</saml2:AttributeValue>', '<saml2:AttributeValue>Other LPS</saml2:AttributeValue>')) });
      expect(answer.fault?.subcode).toBe('wsse:FailedCheck');
      expect(answer.fault?.reason).toContain('calculated digest');
    });

    it('refuses an expired assertion', async () => {
      const old = { ...dmp.caller, at: new Date(Date.now() - 3_600_000) };
      const { answer } = await send(dmp.sim.registryUrl, buildFindDocuments(dmp.sim.registryUrl, old, ['Approved']));
      expect(answer.fault?.subcode).toBe('wsse:InvalidSecurityToken');
      expect(answer.fault?.reason).toContain('expired');
    });

    it('refuses missing or invalid attributes, naming each', async () => {
      const caller = { ...dmp.caller, vihf: { Authentification_Mode: '', VIHF_Version: '2.0', 'urn:oasis:names:tc:xacml:2.0:resource:resource-id': '279035121518988^^^&amp;1.2.250.1.213.1.4.10&amp;ISO^NH' } };
      const { answer } = await send(dmp.sim.registryUrl, buildFindDocuments(dmp.sim.registryUrl, caller, ['Approved']));
      expect(answer.fault?.subcode).toBe('wsse:InvalidSecurityToken');
      expect(answer.fault?.reason).toContain('Authentification_Mode is missing');
      expect(answer.fault?.reason).toContain('VIHF_Version is "2.0"');
      expect(answer.fault?.reason).toContain('control key');
    });

    it('refuses a query for another patient than the VIHF resource-id', async () => {
      const m = rewrite(query(), /(\$XDSDocumentEntryPatientId"><ValueList><Value>')279035121518989/, '$1162018885045327');
      const { answer } = await send(dmp.sim.registryUrl, m);
      expect(answer.errors.map((e) => e.code)).toEqual(['XDSPatientIdDoesNotMatch']);
    });
  });
});

function rewrite(message: { contentType: string; body: Buffer }, from: string | RegExp, to: string) {
  return { ...message, body: Buffer.from(message.body.toString('utf8').replace(from, to)) };
}
