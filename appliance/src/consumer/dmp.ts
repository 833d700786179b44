import { KosParseError, parseKos, type KosManifest } from '../dicom/kos/index.js';
import type { DmpClient, DocumentEntry, VihfSubject } from '../xds/index.js';
import { KOS } from '../xds/codes.js';
import type { Signer } from '../auth/signer/signer.js';
import { parseCx } from '../xds/hl7-types.js';

/**
 * The consumer's two DMP transactions (ci-sis-imaging.md §4, TD3.1 / TD3.2): find the patient's imaging manifests
 * (ITI-18 FindDocuments, IMG-KOS, Approved) and fetch one (ITI-43), each under the VIHF of the professional at the
 * screen. A KOS is only taken if the registry files it under this patient as an approved IMG-KOS.
 */

export type DmpConsumerPort = Pick<DmpClient, 'findDocuments' | 'getDocuments' | 'retrieve'>;

export type DmpResult<T> = { ok: true; value: T } | { ok: false; message: string };

/** A manifest of a few thousand references is well under this; anything bigger is not a KOS. */
const MAX_KOS_BYTES = 32 * 1024 * 1024;

function failure(o: { kind: 'retryable'; reason: string } | { kind: 'permanent'; code: string; text: string }): string {
  return o.kind === 'retryable' ? `le DMP n'a pas pu répondre (${o.reason}) : réessayez plus tard` : `le DMP a refusé la demande : ${o.code}${o.text ? ` (${o.text})` : ''}`;
}

function samePatient(registryPatientId: string | undefined, vihfPatientId: string): boolean {
  if (!registryPatientId) return false;
  const a = parseCx(registryPatientId);
  const b = parseCx(vihfPatientId);
  return a.id === b.id && a.authorityOid === b.authorityOid;
}

/** `vihfSigner`: the professional's card in direct mode (else the structure's signer). */
export async function findImagingExams(dmp: DmpConsumerPort, vihf: VihfSubject, vihfSigner?: Signer): Promise<DmpResult<DocumentEntry[]>> {
  const r = await dmp.findDocuments({ patientId: vihf.patientId, statuses: ['Approved'], typeCodes: [KOS.typeCode] }, vihf, vihfSigner);
  if (r.kind !== 'success') return { ok: false, message: failure(r) };
  return { ok: true, value: r.value.documentEntries.filter((e) => samePatient(e.patientId, vihf.patientId)) };
}

export interface FetchedKos {
  entry: DocumentEntry;
  manifest: KosManifest;
}

export async function fetchKos(dmp: DmpConsumerPort, vihf: VihfSubject, documentUniqueId: string, vihfSigner?: Signer): Promise<DmpResult<FetchedKos>> {
  const found = await dmp.getDocuments({ uniqueIds: [documentUniqueId] }, vihf, vihfSigner);
  if (found.kind !== 'success') return { ok: false, message: failure(found) };
  const entry = found.value.documentEntries.find((e) => e.uniqueId === documentUniqueId);
  if (!entry) return { ok: false, message: "ce document n'existe pas (ou plus) dans le DMP" };
  if (!samePatient(entry.patientId, vihf.patientId)) return { ok: false, message: "ce document n'appartient pas au DMP de ce patient" };
  if (entry.typeCode?.code !== KOS.typeCode.code || entry.typeCode.scheme !== KOS.typeCode.scheme) {
    return { ok: false, message: "ce document n'est pas un manifeste d'examen d'imagerie (IMG-KOS)" };
  }
  if (entry.status !== 'Approved') return { ok: false, message: "ce manifeste d'imagerie n'est plus valide dans le DMP (remplacé ou retiré)" };
  if (!entry.repositoryUniqueId) return { ok: false, message: "le DMP ne dit pas où est stocké ce manifeste (repositoryUniqueId absent)" };

  const r = await dmp.retrieve(
    [{ repositoryUniqueId: entry.repositoryUniqueId, documentUniqueId, ...(entry.homeCommunityId ? { homeCommunityId: entry.homeCommunityId } : {}) }],
    vihf,
    vihfSigner,
  );
  if (r.kind !== 'success') return { ok: false, message: failure(r) };
  let bytes: Buffer | undefined;
  for await (const doc of r.value.documents()) {
    if (doc.documentUniqueId !== documentUniqueId) continue;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of doc.body) {
      size += chunk.length;
      if (size > MAX_KOS_BYTES) return { ok: false, message: `le manifeste dépasse ${MAX_KOS_BYTES / 1024 / 1024} Mo : refusé` };
      chunks.push(chunk);
    }
    bytes = Buffer.concat(chunks);
    break;
  }
  if (!bytes) return { ok: false, message: "le DMP n'a pas renvoyé le manifeste demandé" };
  let manifest: KosManifest;
  try {
    manifest = parseKos(bytes);
  } catch (err) {
    if (err instanceof KosParseError) return { ok: false, message: `manifeste illisible : ${err.message}` };
    throw err;
  }
  if (manifest.rejection) return { ok: false, message: "ce document est une note de rejet d'images, pas un examen à afficher" };
  const registeredStudy = entry.referenceIds.find((x) => x.type === 'urn:ihe:iti:xds:2016:studyInstanceUID')?.value;
  if (registeredStudy && registeredStudy !== manifest.studyInstanceUid) {
    return { ok: false, message: "le manifeste ne décrit pas l'examen sous lequel le DMP l'a enregistré" };
  }
  return { ok: true, value: { entry, manifest } };
}
