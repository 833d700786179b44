import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SCHEMA_DIR } from '../peers/dmp-sim/codes.js';
import { post, readAnswer, type SoapAnswer } from '../peers/dmp-sim/testing/client.js';
import { OTHER_PATIENT, PATIENT, startTestDmp, type TestDmp } from '../peers/dmp-sim/testing/fixture.js';
import { buildFindDocuments, buildGetAssociations, buildGetDocuments, buildIti41, buildRetrieve, buildStatusUpdate } from '../peers/dmp-sim/testing/requests.js';
import { NS, attr, descendants, elementChildren } from '../peers/dmp-sim/xml.js';
import { validateElement } from '../peers/dmp-sim/xsd.js';

/** Publish → find → retrieve → replace → withdraw against the strict DMP simulator. */
describe('DMP simulator: publication lifecycle', () => {
  let dmp: TestDmp;
  beforeAll(async () => {
    dmp = await startTestDmp();
  });
  afterAll(async () => {
    await dmp?.close();
  });

  const repository = () => dmp.sim.repositoryUrl;
  const registry = () => dmp.sim.registryUrl;
  const publish = async (submission = dmp.newKos()) => {
    const res = await post(repository(), dmp.tls, buildIti41(repository(), dmp.caller, submission));
    return { submission, res, answer: readAnswer(res) };
  };
  const find = async (statuses: string[]) => readAnswer(await post(registry(), dmp.tls, buildFindDocuments(registry(), dmp.caller, statuses)));
  const entryUuidOf = (uniqueId: string) => dmp.sim.db.entryByUniqueId(uniqueId)!.entry_uuid;
  /** The simulator's answers must themselves be schema-valid: a client is tested against them. */
  const expectSchemaValid = async (answer: SoapAnswer) => {
    const body = descendants(answer.envelope, NS.soap12, 'Body')[0]!;
    const result = await validateElement(elementChildren(body)[0]!, DEFAULT_SCHEMA_DIR);
    expect(result.errors).toEqual([]);
  };

  it('accepts a valid signed ITI-41 and stores the KOS under a DMP-assigned entryUUID', async () => {
    const { submission, res, answer } = await publish();
    expect(answer.errors).toEqual([]);
    expect(res.status).toBe(200);
    expect(answer.status).toBe('Success');
    await expectSchemaValid(answer);
    const row = dmp.sim.db.entryByUniqueId(submission.kosUid)!;
    expect(row.status).toBe('Approved');
    expect(row.entry_uuid).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    expect(row.hash).toBe(createHash('sha1').update(submission.kos).digest('hex'));
  });

  it('ITI-18 finds it, ITI-43 returns byte-identical bytes', async () => {
    const { submission } = await publish();
    const found = await find(['Approved']);
    expect(found.status).toBe('Success');
    await expectSchemaValid(found);
    const objects = descendants(found.envelope, NS.rim, 'ExtrinsicObject');
    const mine = objects.find((o) => descendants(o, NS.rim, 'ExternalIdentifier').some((x) => attr(x, 'value') === submission.kosUid));
    expect(mine).toBeDefined();
    expect(attr(mine!, 'id')).toBe(entryUuidOf(submission.kosUid));
    expect(attr(mine!, 'status')).toBe('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved');
    const retrieved = readAnswer(await post(repository(), dmp.tls, buildRetrieve(repository(), dmp.caller, dmp.sim.repositoryUniqueId, submission.kosUid)));
    expect(retrieved.status).toBe('Success');
    await expectSchemaValid(retrieved);
    expect([...retrieved.attachments.values()]).toHaveLength(1);
    expect([...retrieved.attachments.values()][0]!.equals(submission.kos)).toBe(true);
  });

  it('refuses a second submission of the same uniqueId', async () => {
    const { submission } = await publish();
    const again = await publish({ ...submission });
    expect(again.answer.status).toBe('Failure');
    expect(again.answer.errors.map((e) => e.code)).toContain('XDSDuplicateUniqueIdInRegistry');
  });

  it('refuses a hash that is not the SHA-1 of the attached document, and a wrong size', async () => {
    const s = dmp.newKos();
    const tampered = Buffer.from(s.kos);
    tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 0xff;
    const { answer } = await publish({ ...s, attach: tampered });
    expect(answer.status).toBe('Failure');
    expect(answer.errors.map((e) => e.code)).toContain('XDSNonIdenticalHash');
    const shorter = await publish({ ...s, attach: s.kos.subarray(0, s.kos.length - 2) });
    expect(shorter.answer.errors.map((e) => e.code)).toEqual(expect.arrayContaining(['XDSNonIdenticalHash', 'XDSNonIdenticalSize']));
    expect(dmp.sim.db.entryByUniqueId(s.kosUid)).toBeUndefined();
  });

  it('refuses a DocumentEntry whose patient is not the SubmissionSet patient', async () => {
    const s = dmp.newKos();
    const other = `${OTHER_PATIENT.ins}^^^&amp;${OTHER_PATIENT.insOid}&amp;ISO^NH`;
    const { answer } = await publish({ ...s, tweak: (xml) => xml.replace(/(registryObject="DocumentKOS" value=")[^"]+(")/, `$1${other}$2`) });
    expect(answer.status).toBe('Failure');
    const mismatch = answer.errors.find((e) => e.code === 'XDSPatientIdDoesNotMatch');
    expect(mismatch?.context).toContain(OTHER_PATIENT.ins);
  });

  it('refuses a submission for another patient than the VIHF resource-id', async () => {
    const caller = { ...dmp.caller, patient: OTHER_PATIENT, vihf: { 'urn:oasis:names:tc:xacml:2.0:resource:resource-id': `${PATIENT.ins}^^^&amp;${PATIENT.insOid}&amp;ISO^NH` } };
    const s = dmp.newKos(OTHER_PATIENT);
    const answer = readAnswer(await post(repository(), dmp.tls, buildIti41(repository(), caller, s)));
    expect(answer.errors.find((e) => e.code === 'XDSPatientIdDoesNotMatch')?.context).toContain('VIHF resource-id');
  });

  it('RPLC deprecates the replaced entry and records the association', async () => {
    const first = await publish();
    const oldUuid = entryUuidOf(first.submission.kosUid);
    const replacement = await publish({ ...dmp.newKos(), replaces: oldUuid });
    expect(replacement.answer.errors).toEqual([]);
    expect(dmp.sim.db.entryByUuid(oldUuid)!.status).toBe('Deprecated');
    const newUuid = entryUuidOf(replacement.submission.kosUid);
    const assoc = readAnswer(await post(registry(), dmp.tls, buildGetAssociations(registry(), dmp.caller, newUuid)));
    await expectSchemaValid(assoc);
    const rplc = descendants(assoc.envelope, NS.rim, 'Association').find((a) => attr(a, 'associationType') === 'urn:ihe:iti:2007:AssociationType:RPLC');
    expect(rplc && [attr(rplc, 'sourceObject'), attr(rplc, 'targetObject')]).toEqual([newUuid, oldUuid]);
    const approved = await find(['Approved']);
    const ids = descendants(approved.envelope, NS.rim, 'ExtrinsicObject').map((o) => attr(o, 'id'));
    expect(ids).toContain(newUuid);
    expect(ids).not.toContain(oldUuid);
    // A Deprecated entry cannot be replaced again.
    const stale = await publish({ ...dmp.newKos(), replaces: oldUuid });
    expect(stale.answer.errors.find((e) => e.code === 'XDSRegistryMetadataError')?.context).toContain('Deprecated');
    // An entryUUID the DMP never assigned is an unresolved reference.
    const unknown = await publish({ ...dmp.newKos(), replaces: 'urn:uuid:00000000-0000-4000-8000-000000000000' });
    expect(unknown.answer.errors.map((e) => e.code)).toContain('UnresolvedReferenceException');
  });

  it('ITI-57 deprecates, then deletes; ITI-18 reflects each status', async () => {
    const { submission } = await publish();
    const uuid = entryUuidOf(submission.kosUid);
    const deprecate = readAnswer(await post(registry(), dmp.tls, buildStatusUpdate(registry(), dmp.caller, uuid, 'Approved', 'Deprecated')));
    expect(deprecate.errors).toEqual([]);
    expect(deprecate.status).toBe('Success');
    expect(dmp.sim.db.entryByUuid(uuid)!.status).toBe('Deprecated');
    const deprecated = await find(['Deprecated']);
    expect(descendants(deprecated.envelope, NS.rim, 'ExtrinsicObject').map((o) => attr(o, 'id'))).toContain(uuid);
    const wrongOriginal = readAnswer(await post(registry(), dmp.tls, buildStatusUpdate(registry(), dmp.caller, uuid, 'Approved', 'Deprecated')));
    expect(wrongOriginal.errors.map((e) => e.code)).toContain('XDSMetadataUpdateError');
    const deleted = readAnswer(await post(registry(), dmp.tls, buildStatusUpdate(registry(), dmp.caller, uuid, 'Deprecated', 'Deleted')));
    expect(deleted.status).toBe('Success');
    const byUid = readAnswer(await post(registry(), dmp.tls, buildGetDocuments(registry(), dmp.caller, submission.kosUid)));
    expect(descendants(byUid.envelope, NS.rim, 'ObjectRef')).toHaveLength(0);
    const retrieve = readAnswer(await post(repository(), dmp.tls, buildRetrieve(repository(), dmp.caller, dmp.sim.repositoryUniqueId, submission.kosUid)));
    expect(retrieve.errors.map((e) => e.code)).toEqual(['XDSDocumentUniqueIdError']);
  });
});
