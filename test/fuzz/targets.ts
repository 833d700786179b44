import { readFileSync, readdirSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHl7Message } from '../../appliance/src/hl7/index.js';
import { MllpDecoder } from '../../appliance/src/hl7/mllp-framing.js';
import { reportFromCda, reportFromHl7 } from '../../appliance/src/report/parse.js';
import { parseKos } from '../../appliance/src/dicom/kos/index.js';
import { scanPart10 } from '../../appliance/src/dicom/dataset/part10-scan.js';
import { indexAttributes } from '../../appliance/src/consumer/cache/attributes.js';
import { readMultipart as readDicomwebMultipart } from '../../appliance/src/dicomweb/multipart-reader.js';
import { MultipartScanner } from '../../appliance/src/dicomweb/multipart-scanner.js';
import { BodyDecoder, bodyFramingOf, parseResponseHead } from '../../appliance/src/dicomweb/http1-framing.js';
import { openRetrieveResponse } from '../../appliance/src/xds/retrieve.js';
import { parseXmlSafely } from '../../appliance/src/xds/xml.js';
import { queryResultOf } from '../../appliance/src/xds/query.js';
import { registryStatusOf, soapFaultOf } from '../../appliance/src/xds/outcomes.js';
import { NS } from '../../appliance/src/xds/codes.js';
import { parseWhitelist } from '../../appliance/src/auth/whitelist/index.js';
import { parseContextCall } from '../../appliance/src/consumer/context-call.js';
import { parseAccept, bestMultipart, negotiateJson } from '../../appliance/src/dicomweb/accept.js';
import { parseQidoQuery } from '../../appliance/src/dicomweb/qido-query.js';
import { toDicomJson } from '../../appliance/src/dimse/dicom-json.js';
import { RawDataset } from '../../appliance/src/dimse/receive.js';
import { peekStudyInstanceUid } from '../../appliance/src/dimse/part10.js';
import { referencePath } from '../fixtures/reference.js';

/** A parser of untrusted input, with valid inputs to start from. */
export interface FuzzTarget {
  name: string;
  seeds: Buffer[];
  run(input: Buffer): unknown;
}

const fixtures = new URL('../fixtures/', import.meta.url);
const file = (relative: string) => readFileSync(new URL(relative, fixtures));
const hl7Seeds = readdirSync(new URL('hl7/', fixtures)).filter((f) => f.endsWith('.hl7')).map((f) => file(`hl7/${f}`));
const cdaSeeds = readdirSync(new URL('hl7/', fixtures)).filter((f) => f.endsWith('.xml')).map((f) => file(`hl7/${f}`));
const kosSeeds = [readFileSync(referencePath('spec/kos/bcom-test-kos.dcm')), readFileSync(referencePath('ansforge/DRIM-M_DRIMbox/test-resources/kos.dcm'))];

/** The dataset of a Part-10 file without its preamble and meta group (PS3.10 §7.1), and its transfer syntax. */
function datasetOf(part10: Buffer): { bytes: Buffer; transferSyntaxUid: string } {
  const metaLength = part10.readUInt32LE(140);
  const meta = part10.subarray(144, 144 + metaLength).toString('latin1');
  const transferSyntaxUid = /1\.2\.840\.10008\.1\.2[.\d]*/.exec(meta.slice(meta.indexOf('\x02\x00\x10\x00')))?.[0] ?? '1.2.840.10008.1.2.1';
  return { bytes: part10.subarray(144 + metaLength), transferSyntaxUid };
}

/** The SOAP envelope of a MIME-wrapped answer (the ANS sample keeps its MIME headers). */
function soapOf(mime: string): Buffer {
  return Buffer.from(mime.slice(mime.indexOf('<soap:Envelope'), mime.lastIndexOf('</soap:Envelope>') + '</soap:Envelope>'.length));
}

async function* chunked(input: Buffer): AsyncGenerator<Buffer> {
  // Three uneven chunks: boundaries that fall inside delimiters and headers.
  const a = Math.floor(input.length / 3);
  const b = Math.floor((input.length * 5) / 7);
  for (const piece of [input.subarray(0, a), input.subarray(a, b), input.subarray(b)]) if (piece.length) yield piece;
}

async function drain(body: AsyncIterable<Uint8Array>, limit = 64 << 20): Promise<number> {
  let n = 0;
  for await (const chunk of body) if ((n += chunk.length) > limit) throw new Error('more than the test limit');
  return n;
}

const multipartSeed = Buffer.from(
  ['--XYZ', 'Content-Type: application/dicom', '', 'first part', '--XYZ', 'Content-Type: application/dicom', 'Content-Length: 6', '', 'second', '--XYZ--', ''].join('\r\n'),
  'latin1',
);
const httpResponseSeeds = [
  'HTTP/1.1 200 OK\r\nContent-Type: multipart/related; boundary=XYZ\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n',
  'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello',
  'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.0 200 OK\r\nConnection: close\r\n\r\nuntil the end',
].map((s) => Buffer.from(s, 'latin1'));

/** An HTTP/1.1 answer read as the relay's own reader does: heads (1xx skipped), then the body fed in three pieces. */
function readHttpResponse(input: Buffer): number {
  let rest = input;
  for (;;) {
    const parsed = parseResponseHead(rest, 4096);
    if (parsed === 'more') return 0;
    rest = rest.subarray(parsed.bodyStart);
    if (parsed.head.status >= 200) {
      let bytes = 0;
      const decoder = new BodyDecoder(bodyFramingOf(parsed.head), (b) => (bytes += b.length));
      const third = Math.ceil(rest.length / 3);
      for (let at = 0; at < rest.length && !decoder.feed(rest.subarray(at, at + third)); at += third);
      decoder.end();
      return bytes;
    }
  }
}

const iti43 = Buffer.from(
  [
    '--B1',
    'Content-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"',
    'Content-ID: <root>',
    '',
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><xdsb:RetrieveDocumentSetResponse xmlns:xdsb="urn:ihe:iti:xds-b:2007"><rs:RegistryResponse xmlns:rs="urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0" status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"/><xdsb:DocumentResponse><xdsb:RepositoryUniqueId>1.2.3</xdsb:RepositoryUniqueId><xdsb:DocumentUniqueId>1.2.3.4</xdsb:DocumentUniqueId><xdsb:mimeType>application/dicom</xdsb:mimeType><xdsb:Document><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:doc1"/></xdsb:Document></xdsb:DocumentResponse></xdsb:RetrieveDocumentSetResponse></s:Body></s:Envelope>',
    '--B1',
    'Content-Type: application/dicom',
    'Content-ID: <doc1>',
    '',
    'DICM-bytes',
    '--B1--',
    '',
  ].join('\r\n'),
);
const accepts = [
  'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.70;q=0.9, multipart/related; type="application/dicom"; transfer-syntax=*;q=0.1',
  'application/dicom+json, multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.1',
  'multipart/related; type="image/jpeg", */*;q=0.2',
].map((s) => Buffer.from(s));
const contextCall = Buffer.from(
  'Identifiant_Patient=123456789012345&OID_Identifiant_Patient=1.2.250.1.213.1.4.8&Nom_Patient=BERNARD&Prenom_Patient=Jean&Sexe_Patient=M&Date_Naissance_Patient=19500101&Nombre_Appel=1&Statut_Appel=0',
);
/** The KOS files are Implicit VR Little Endian, like most C-FIND identifiers. */
const identifierSyntax = datasetOf(kosSeeds[0]!).transferSyntaxUid;
const scratch = mkdtempSync(join(tmpdir(), 'drimbox-fuzz-'));
let scanCount = 0;

export const TARGETS: FuzzTarget[] = [
  { name: 'hl7 message + report', seeds: hl7Seeds, run: (b) => reportFromHl7(parseHl7Message(b)) },
  {
    name: 'mllp framing',
    seeds: hl7Seeds.map((m) => Buffer.concat([Buffer.of(0x0b), m, Buffer.of(0x1c, 0x0d), Buffer.of(0x0b), m.subarray(0, 40)])),
    run: (b) => {
      const decoder = new MllpDecoder(64 * 1024);
      for (let at = 0; at < b.length; at += 37) decoder.push(b.subarray(at, at + 37));
    },
  },
  { name: 'cda header', seeds: cdaSeeds, run: (b) => reportFromCda(b) },
  { name: 'kos (dicom part-10)', seeds: kosSeeds, run: (b) => parseKos(b) },
  {
    name: 'part-10 scan (wado)',
    seeds: kosSeeds,
    run: async (b) => {
      const path = join(scratch, `in-${scanCount++ % 4}.dcm`);
      writeFileSync(path, b);
      return scanPart10(path);
    },
  },
  {
    name: 'part-10 index (consumer cache)',
    seeds: [...kosSeeds, file('real-world/CT_small.dcm'), file('real-world/MR_small_implicit.dcm')],
    run: async (b) => {
      // As the cache checks and indexes an instance from the bytes it just received (never opening the file).
      const layout = await scanPart10('/received/never-opened.dcm', { bytes: b, size: b.length });
      return indexAttributes(layout, b);
    },
  },
  {
    name: 'c-store study peek (dimse)',
    seeds: [...kosSeeds, file('real-world/CT_small.dcm'), file('real-world/MR_small_implicit.dcm')].map((k) => datasetOf(k).bytes),
    // As a C-STORE's dataset arrives: every prefix the receiver may hold, in the three syntaxes it walks.
    run: (b) => {
      for (const syntax of ['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2']) {
        for (let n = Math.min(b.length, 61); n < b.length; n += 61) peekStudyInstanceUid(b.subarray(0, n), syntax);
        peekStudyInstanceUid(b, syntax);
      }
    },
  },
  {
    name: 'c-find identifier (dicom json)',
    seeds: kosSeeds.map((k) => datasetOf(k).bytes),
    run: (b) => toDicomJson(new RawDataset(b, identifierSyntax)),
  },
  {
    name: 'multipart/related (dicomweb)',
    seeds: [multipartSeed],
    run: async (b) => {
      for await (const part of readDicomwebMultipart(chunked(b), 'XYZ', { maxHeaderBytes: 4096 })) await drain(part.body);
    },
  },
  {
    name: 'multipart relay scanner (dicomweb)',
    seeds: [multipartSeed],
    run: (b) => {
      const scanner = new MultipartScanner('XYZ', { partStart: () => undefined, partData: () => undefined, partEnd: () => undefined }, 4096);
      for (let at = 0; at < b.length; at += 7) scanner.write(b.subarray(at, at + 7));
      scanner.end();
    },
  },
  { name: 'http/1.1 response (dicomweb upstream)', seeds: httpResponseSeeds, run: readHttpResponse },
  {
    name: 'mtom answer (xds)',
    seeds: [iti43],
    run: async (b) => {
      const response = await openRetrieveResponse('multipart/related; boundary="B1"; type="application/xop+xml"; start="<root>"', chunked(b));
      for await (const doc of response.documents()) await drain(doc.body);
    },
  },
  {
    name: 'soap answer (xds)',
    seeds: [soapOf(readFileSync(referencePath('spec/xds/bcom-iti41-response.xml'), 'utf8'))],
    run: (b) => {
      const doc = parseXmlSafely(b.toString('utf8'), 'fuzz');
      soapFaultOf(doc);
      const registryResponse = doc.getElementsByTagNameNS(NS.rs, 'RegistryResponse')[0];
      return registryResponse ? registryStatusOf(registryResponse) : queryResultOf(doc);
    },
  },
  {
    name: 'whitelist xml',
    seeds: [readFileSync(referencePath('spec/whitelist/ans-LISTEBLANCHE_DRIM-M_NONSIGNEE_TEST.xml'))],
    run: (b) => parseWhitelist(b.toString('utf8')),
  },
  { name: 'contextual call form', seeds: [contextCall], run: (b) => parseContextCall(b.toString('latin1')) },
  {
    name: 'accept header',
    seeds: accepts,
    run: (b) => {
      const ranges = parseAccept(b.toString('latin1'));
      negotiateJson(ranges);
      return bestMultipart(ranges, [{ partType: 'application/dicom', transferSyntaxUid: '1.2.840.10008.1.2.1' }]);
    },
  },
  {
    name: 'qido query',
    seeds: [Buffer.from('PatientID=12345&StudyDate=20200101-20201231&includefield=00081030&limit=10&offset=5&fuzzymatching=false')],
    run: (b) => parseQidoQuery(new URLSearchParams(b.toString('latin1')), { maxLimit: 1000 }),
  },
];
