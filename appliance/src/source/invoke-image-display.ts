import type { KosArchive } from '../store/kos-archive.js';

/**
 * IHE Invoke Image Display (RAD-106) as RIS vendors generate the report's viewer link, and the ANS demonstrator's
 * form of it: `requestType=STUDY` with `studyUID` or `accessionNumber`, and optionally `idCDA` (the report's CDA id,
 * `root` or `root_extension`), checked against the report archived with the manifest (ans-reference-drimbox.md §1.2
 * item 9). Only a study this box published, still active, is ever named; the answer is the study and its KOS.
 */
export type InvokeImageDisplay = { ok: true; studyInstanceUid: string; kosSopInstanceUid: string } | { ok: false; status: 400 | 404; message: string };

const UID = /^[0-2](\.(0|[1-9][0-9]*))+$/;

export function resolveInvokeImageDisplay(query: URLSearchParams, archive: Pick<KosArchive, 'activeForStudy' | 'activeForAccession'>): InvokeImageDisplay {
  const requestType = (query.get('requestType') ?? '').toUpperCase();
  if (requestType !== 'STUDY') {
    return { ok: false, status: 400, message: requestType === 'PATIENT' ? 'ce lien demande tous les examens d’un patient : ce boîtier n’affiche qu’un examen publié (requestType=STUDY)' : 'lien de visualisation incomplet : requestType=STUDY attendu' };
  }
  const studies = (query.get('studyUID') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const accessions = (query.get('accessionNumber') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (studies.length > 1 || accessions.length > 1) return { ok: false, status: 400, message: 'ce lien nomme plusieurs examens : la visionneuse en affiche un à la fois' };
  const [study] = studies;
  if (study !== undefined && (study.length > 64 || !UID.test(study))) return { ok: false, status: 400, message: 'identifiant d’examen (studyUID) invalide dans le lien' };
  if (!study && !accessions[0]) return { ok: false, status: 400, message: 'lien de visualisation incomplet : studyUID ou accessionNumber attendu' };

  const notFound = { ok: false, status: 404, message: 'cet examen n’est pas (ou plus) publié par ce boîtier' } as const;
  const candidates = study ? [archive.activeForStudy(study)].filter((k) => k !== undefined) : archive.activeForAccession(accessions[0]!);
  const kos = candidates.filter((k) => !accessions[0] || !k.accession || k.accession === accessions[0]);
  if (kos.length !== 1) return notFound;
  const found = kos[0]!;
  const idCda = query.get('idCDA');
  if (idCda && !sameDocument(idCda, found.documentId)) return { ok: false, status: 404, message: 'ce lien ne correspond pas au compte rendu publié pour cet examen' };
  return { ok: true, studyInstanceUid: found.studyInstanceUid, kosSopInstanceUid: found.sopInstanceUid };
}

/** `root`, `root_extension` or `root^extension` against the archived `root^extension` (the extension when both give one). */
function sameDocument(given: string, archived: string | null): boolean {
  if (!archived) return false;
  const [root, extension] = given.split(/[_^]/, 2);
  const [archivedRoot, archivedExtension] = archived.split('^', 2);
  return root === archivedRoot && (extension === undefined || archivedExtension === undefined || extension === archivedExtension);
}
