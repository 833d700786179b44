/**
 * Readers for the segments of the CI-SIS profile "Transmission de document(s) CDA en HL7v2"
 * (ci-sis-imaging.md §5): PID (INS, IPP, traits), PRT (sender, FINESS), MetaDMPMSS OBX flags,
 * the OBX carrying the CDA, TXA, and the order/exam identifiers of OBR/ORC/IPC/ZDS.
 * Problems are collected, not thrown, so a technician can see everything that is wrong at once.
 */
import type { CodedValue, DmpFlags, IssuedId, Organisation, Patient, Professional } from '../report/types.js';
import { hl7ErrorCodes, type AckCode } from './errors.js';
import type { Hl7Message, Hl7Repetition, Hl7Segment } from './message.js';

export interface Finding {
  ackCode: Exclude<AckCode, 'AA'>;
  text: string;
  location?: string;
  hl7ErrorCode: string;
}

export class Findings {
  readonly errors: Finding[] = [];
  readonly warnings: string[] = [];

  error(text: string, location?: string, hl7ErrorCode: string = hl7ErrorCodes.dataTypeError, ackCode: Exclude<AckCode, 'AA'> = 'AE'): void {
    this.errors.push({ ackCode, text, location, hl7ErrorCode });
  }

  warn(text: string): void {
    this.warnings.push(text);
  }
}

/** INS assigning authorities (ci-sis-imaging.md §1.2). */
const insOids = new Set(['1.2.250.1.213.1.4.8', '1.2.250.1.213.1.4.9', '1.2.250.1.213.1.4.10', '1.2.250.1.213.1.4.11']);
export const META_DMP_MSS = 'MetaDMPMSS';

/** NIR/NIA matricule: 13 characters (2A/2B for Corsica) and a key = 97 - (number mod 97). */
export function isValidInsMatricule(value: string): boolean {
  const m = /^([0-9]{5})(2A|2B|[0-9]{2})([0-9]{6})([0-9]{2})$/.exec(value);
  if (!m) return false;
  // Corsica: 2A counts as 19, 2B as 18 for the key (INSEE rule).
  const dept = m[2] === '2A' ? '19' : m[2] === '2B' ? '18' : m[2]!;
  const number = BigInt(m[1]! + dept + m[3]!);
  return 97n - (number % 97n) === BigInt(m[4]!);
}

export function readPatient(pid: Hl7Segment, findings: Findings): Patient {
  const patient: Patient = {};
  pid.field(3).repetitions.forEach((rep, index) => {
    const value = rep.get(1).trim();
    const authorityName = rep.get(4, 1).trim();
    const authorityOid = rep.get(4, 2).trim();
    const type = rep.get(5).trim().toUpperCase();
    if (value === '') return;
    if (insOids.has(authorityOid) || type === 'INS') {
      const where = pid.location(3, 1, index + 1);
      if (!insOids.has(authorityOid)) {
        findings.error(`PID-3 INS has assigning authority '${authorityOid || authorityName}', not an INS OID (1.2.250.1.213.1.4.8 to .11)`, pid.location(3, 4, index + 1), hl7ErrorCodes.tableValueNotFound);
      } else if (!isValidInsMatricule(value)) {
        findings.error('PID-3 INS matricule is not 15 characters with a valid key', where, hl7ErrorCodes.dataTypeError);
      } else if (!patient.ins) {
        patient.ins = { value, issuerOid: authorityOid, ...(authorityName ? { issuerName: authorityName } : {}) };
      } else if (patient.ins.value !== value) {
        findings.error('PID-3 carries two different INS', where, hl7ErrorCodes.dataTypeError);
      }
    } else if (type === 'PI' && !patient.ipp) {
      patient.ipp = { value, issuerOid: authorityOid, ...(authorityName ? { issuerName: authorityName } : {}) };
    }
  });

  const names = pid.field(5).repetitions.filter((r) => !r.isEmpty);
  // IHE France: type L = birth name and birth given names (PID-5.3 lists them), D = used name.
  const legal = names.find((r) => r.get(7).toUpperCase() === 'L') ?? (names.length === 1 && names[0]!.get(7) === '' ? names[0] : undefined);
  if (legal) {
    setIf(patient, 'birthName', legal.get(1, 1));
    setIf(patient, 'firstGivenName', legal.get(2));
    setIf(patient, 'givenNames', legal.get(3) || legal.get(2));
    if (legal.get(7) === '') findings.warn('PID-5 has no name type code: read as the birth name (L)');
  }
  const used = names.find((r) => r.get(7).toUpperCase() === 'D');
  if (used) {
    setIf(patient, 'usedName', used.get(1, 1));
    setIf(patient, 'usedGivenName', used.get(2));
  }

  const birth = pid.get(7).trim();
  if (birth) {
    if (/^[0-9]{8}/.test(birth)) patient.birthDate = birth.slice(0, 8);
    else findings.error('PID-7 birth date is not a date (YYYYMMDD expected)', pid.location(7), hl7ErrorCodes.dataTypeError);
  }
  const sex = pid.get(8).trim().toUpperCase();
  if (sex) patient.sex = sex === 'M' || sex === 'F' ? sex : 'U';

  const birthPlace = pid.field(11).repetitions.find((r) => r.get(7).toUpperCase() === 'BDL');
  if (birthPlace) setIf(patient, 'birthPlaceCode', birthPlace.get(9));
  return patient;
}

/** The PRT whose PRT-4 is 'SB' (send by): the person (PRT-5) and structure (PRT-8, FINESS in PRT-8.10). */
export function readSender(msg: Hl7Message): Professional | undefined {
  const prt = msg.segmentsNamed('PRT').find((s) => s.get(4, 1).toUpperCase() === 'SB');
  if (!prt) return undefined;
  const person = prt.field(5).repetitions[0]!;
  const sender: Professional = {};
  const id = issued(person.get(1), person, 9);
  if (id) sender.id = id;
  setIf(sender, 'family', person.get(2, 1));
  setIf(sender, 'given', person.get(3));
  setIf(sender, 'prefix', person.get(6));
  const org = readOrganisation(prt.field(8).repetitions[0]!);
  if (org) sender.organisation = org;
  return Object.keys(sender).length ? sender : undefined;
}

/** XON: name (1), assigning authority (6, name&OID&ISO), identifier type (7: FINEG, FINEJ, IDNST), identifier (10). */
function readOrganisation(xon: Hl7Repetition): Organisation | undefined {
  if (xon.isEmpty) return undefined;
  const org: Organisation = {};
  const id = issued(xon.get(10), xon, 6);
  if (id) org.id = id;
  setIf(org, 'name', xon.get(1));
  setIf(org, 'idType', xon.get(7));
  return Object.keys(org).length ? org : undefined;
}

function issued(value: string, rep: Hl7Repetition, authorityComponent: number): IssuedId | undefined {
  if (!value.trim()) return undefined;
  const name = rep.get(authorityComponent, 1).trim();
  return { value: value.trim(), issuerOid: rep.get(authorityComponent, 2).trim(), ...(name ? { issuerName: name } : {}) };
}

const flagNames: Record<string, keyof DmpFlags> = {
  DESTDMP: 'sendToDmp',
  MASQUE_PS: 'maskedFromProfessionals',
  INVISIBLE_PATIENT: 'invisibleToPatient',
  INVISIBLE_REP_LEGAUX: 'invisibleToLegalRepresentatives',
};

/**
 * MetaDMPMSS OBX (OBX-3.3), value Y/N in OBX-5.1 (table 0136). The profile requires them; when absent
 * the defaults apply (send to the DMP, visible to all) and a warning says so.
 */
export function readDmpFlags(msg: Hl7Message, findings: Findings, expected: boolean): DmpFlags {
  const flags: DmpFlags = { sendToDmp: true, maskedFromProfessionals: false, invisibleToPatient: false, invisibleToLegalRepresentatives: false };
  const seen = new Set<string>();
  for (const obx of msg.segmentsNamed('OBX')) {
    if (obx.get(3, 3) !== META_DMP_MSS) continue;
    const name = obx.get(3, 1).trim().toUpperCase();
    const key = flagNames[name];
    if (!key) continue;
    const value = obx.get(5, 1).trim().toUpperCase();
    if (value !== 'Y' && value !== 'N') {
      findings.error(`${name} must be Y or N, not '${value}'`, obx.location(5), hl7ErrorCodes.tableValueNotFound);
      continue;
    }
    flags[key] = value === 'Y';
    seen.add(name);
  }
  if (expected) {
    const missing = Object.keys(flagNames).filter((n) => !seen.has(n));
    if (missing.length) findings.warn(`MetaDMPMSS OBX absent for ${missing.join(', ')}: defaults used (send to DMP, visible)`);
  }
  return flags;
}

/** The OBX carrying the document: value type ED, not a MetaDMPMSS item (CORPSMAIL_PS is ED too). */
export function findDocumentObx(msg: Hl7Message): Hl7Segment | undefined {
  return msg.segmentsNamed('OBX').find((obx) => obx.get(2).trim().toUpperCase() === 'ED' && obx.get(3, 3) !== META_DMP_MSS);
}

/**
 * OBX-5 as ED '^TEXT^XML^Base64^<data>' (ORU) / '^text^XML^Base64^<data>' (MDM), or the bare base64 (or XML)
 * that some senders put directly in OBX-5. Returns the document bytes, or text for ASCII-encoded XML.
 */
export function readEncapsulatedDocument(obx: Hl7Segment, findings: Findings): Buffer | string | undefined {
  const value = obx.field(5).repetitions[0]!;
  const ed = value.componentCount >= 4;
  const encoding = ed ? value.get(4).trim().toUpperCase() : '';
  const data = (ed ? value.get(5) : value.get(1)).trim();
  const where = ed ? obx.location(5, 5) : obx.location(5);
  if (data === '') {
    findings.error('OBX-5 is empty: no CDA in the message', where, hl7ErrorCodes.requiredFieldMissing);
    return undefined;
  }
  if (ed && encoding === 'A') return data;
  if (ed && encoding !== 'BASE64') {
    findings.error(`OBX-5.4 encoding '${value.get(4)}' is not supported (Base64 or A)`, obx.location(5, 4), hl7ErrorCodes.tableValueNotFound);
    return undefined;
  }
  if (!ed && data.startsWith('<')) return data;
  const compact = data.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.length % 4 === 1) {
    findings.error(`OBX-5 is not base64 (starts with '${printable(compact.slice(0, 24))}'): no CDA in the message`, where, hl7ErrorCodes.dataTypeError);
    return undefined;
  }
  return Buffer.from(compact, 'base64');
}

/** TXA-12/13 (EI): ClinicalDocument/id as root^extension when TXA-x.3 carries the root, else TXA-x.1 alone. */
export function readDocumentIds(msg: Hl7Message): { id?: string; replaces?: string } {
  const txa = msg.segment('TXA');
  if (!txa) return {};
  const ei = (n: number) => {
    const id = txa.get(n, 1).trim();
    const root = txa.get(n, 3).trim();
    if (!id) return undefined;
    return root ? `${root}^${id}` : id;
  };
  const out: { id?: string; replaces?: string } = {};
  setIf(out, 'id', ei(12));
  setIf(out, 'replaces', ei(13));
  return out;
}

export interface OrderIds {
  orderControl: string;
  placerOrder?: IssuedId;
  fillerOrder?: IssuedId;
  accession?: IssuedId;
  studyInstanceUid?: string;
  modality?: CodedValue;
  description?: string;
}

/**
 * Exam identifiers carried by HL7: ORC-1, placer (OBR-2 / ORC-2), filler (OBR-3 / ORC-3), accession
 * (IPC-1 in OMI, else OBR-18), Study Instance UID (IPC-3, or ZDS-1 as sent by IHE SWF order fillers).
 */
export function readOrder(msg: Hl7Message, findings: Findings, isUid: (v: string) => boolean): OrderIds {
  const orc = msg.segment('ORC');
  const obr = msg.segment('OBR');
  const ipc = msg.segment('IPC');
  const zds = msg.segment('ZDS');
  const eiOf = (seg: Hl7Segment | undefined, n: number): IssuedId | undefined => {
    if (!seg) return undefined;
    const value = seg.get(n, 1).trim();
    if (!value) return undefined;
    const name = seg.get(n, 2).trim();
    return { value, issuerOid: seg.get(n, 3).trim(), ...(name ? { issuerName: name } : {}) };
  };
  const ids: OrderIds = { orderControl: orc?.get(1).trim().toUpperCase() ?? '' };
  setIf(ids, 'placerOrder', eiOf(obr, 2) ?? eiOf(orc, 2));
  setIf(ids, 'fillerOrder', eiOf(obr, 3) ?? eiOf(orc, 3));
  const obr18 = obr?.get(18).trim();
  setIf(ids, 'accession', eiOf(ipc, 1) ?? (obr18 ? { value: obr18, issuerOid: '' } : undefined));
  if (ipc && obr18 && ids.accession && obr18 !== ids.accession.value) findings.warn('OBR-18 and IPC-1 differ: IPC-1 is the accession number');

  for (const [seg, n] of [[ipc, 3], [zds, 1]] as const) {
    const uid = seg?.get(n, 1).trim();
    if (!seg || !uid) continue;
    if (!isUid(uid)) {
      findings.error(`'${uid.slice(0, 70)}' is not a DICOM UID (Study Instance UID expected)`, seg.location(n), hl7ErrorCodes.dataTypeError);
    } else if (!ids.studyInstanceUid) {
      ids.studyInstanceUid = uid;
    }
  }
  const modality = ipc?.get(5, 1).trim();
  if (modality) ids.modality = { code: modality, scheme: ipc!.get(5, 3).trim() || 'DCM' };
  if (msg.messageType === 'OMI') setIf(ids, 'description', obr?.get(4, 2).trim());
  return ids;
}

/** OBX-3 of the document OBX as a coded value (e.g. 18748-4^CR d'imagerie médicale^LN). */
export function documentType(obx: Hl7Segment): CodedValue | undefined {
  const code = obx.get(3, 1).trim();
  if (!code) return undefined;
  const display = obx.get(3, 2).trim();
  return { code, scheme: obx.get(3, 3).trim(), ...(display ? { display } : {}) };
}

function setIf<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | '' | undefined): void {
  if (value !== undefined && value !== '') target[key] = value as T[K];
}

function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '.');
}
