import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  acceptsGzip,
  acceptsMultipartOf,
  bestMultipart,
  chooseInstanceTransferSyntax,
  negotiateJson,
  parseAccept,
} from '../../appliance/src/dicomweb/accept.js';
import { frameRepresentations } from '../../appliance/src/dicomweb/frames.js';
import { boundaryOf } from '../../appliance/src/dicomweb/multipart-reader.js';
import { canRewriteLocally, isLossy } from '../../appliance/src/dicomweb/transfer-syntax.js';
import { SHARED, ansRequestFiles, parseHttpFixture } from './dicomweb-fixtures.js';

const IMPLICIT = '1.2.840.10008.1.2';
const EXPLICIT = '1.2.840.10008.1.2.1';
const RLE = '1.2.840.10008.1.2.5';
const JPEG_BASELINE = '1.2.840.10008.1.2.4.50';
const JPEG_LOSSLESS_NH = '1.2.840.10008.1.2.4.57';
const JPEG_LOSSLESS_SV1 = '1.2.840.10008.1.2.4.70';
const JPEG_LS_LOSSLESS = '1.2.840.10008.1.2.4.80';
const J2K_LOSSLESS = '1.2.840.10008.1.2.4.90';
const J2K = '1.2.840.10008.1.2.4.91';

type Tiers = ((ts: string) => boolean)[];
/** What the box can make of a stored syntax without the PACS: only the uncompressed LE rewrite. */
const localOnly = (stored: string): Tiers => [(ts) => canRewriteLocally(stored, ts)];
/** Then, with a PACS that transcodes (DICOMweb upstream): any syntax, never lossless → lossy. */
const withPacsTranscoding = (stored: string): Tiers => [...localOnly(stored), (ts) => isLossy(stored) || !isLossy(ts)];

const choose = (accept: string | string[] | undefined, stored: string, tiers = localOnly(stored)) =>
  chooseInstanceTransferSyntax(parseAccept(accept), stored, tiers) ?? '406';

describe('Accept header parsing (PS3.18 §8.7, RFC 9110 §12.5.1)', () => {
  it('reads q values 0, 0.0, 1, 1.0, .5 and drops a range with an unreadable q', () => {
    const ranges = parseAccept('a/b;q=0, c/d;q=0.0, e/f;q=1, g/h;q=1.0, i/j;q=.5, k/l;q=high, m/n;q=1.5');
    expect(ranges.map((r) => `${r.type}/${r.subtype}=${r.q}`)).toEqual(['a/b=0', 'c/d=0', 'e/f=1', 'g/h=1', 'i/j=0.5']);
  });

  it('takes several Accept headers as one list, and no header as */*', () => {
    expect(parseAccept(['a/b', 'c/d;q=0.2']).map((r) => r.q)).toEqual([1, 0.2]);
    expect(parseAccept(undefined)).toMatchObject([{ type: '*', subtype: '*', q: 1 }]);
    expect(parseAccept('')).toMatchObject([{ type: '*', subtype: '*', q: 1 }]);
  });

  it('keeps quoted parameters whole and ignores the ANS boundary=** and the trailing comma', () => {
    const ranges = parseAccept('multipart/related; type="application/dicom";transfer-syntax=1.2.840.10008.1.2.4.70;q=0.9;boundary=**,');
    expect(ranges).toHaveLength(1);
    expect(ranges[0]!.params.get('type')).toBe('application/dicom');
    expect(ranges[0]!.params.get('transfer-syntax')).toBe(JPEG_LOSSLESS_SV1);
    expect(ranges[0]!.q).toBe(0.9);
  });

  it('reads a bare "transfer-syntax=…;q=…" piece as a continuation of the previous media range', () => {
    const ranges = parseAccept(`multipart/related; type="application/dicom"; transfer-syntax=${JPEG_LS_LOSSLESS}, transfer-syntax=${EXPLICIT};q=0.5`);
    expect(ranges).toHaveLength(2);
    expect(ranges[1]).toMatchObject({ type: 'multipart', subtype: 'related', q: 0.5 });
    expect(ranges[1]!.params.get('type')).toBe('application/dicom');
    expect(ranges[1]!.params.get('transfer-syntax')).toBe(EXPLICIT);
  });
});

describe('transfer syntax choice for instances', () => {
  const dicom = (ts: string, q?: string) => `multipart/related; type="application/dicom"; transfer-syntax=${ts}${q ? `; q=${q}` : ''}`;

  it.each([
    ['no Accept: as stored', undefined, JPEG_LS_LOSSLESS, JPEG_LS_LOSSLESS],
    ['*/*: as stored', '*/*', J2K_LOSSLESS, J2K_LOSSLESS],
    ['transfer-syntax=*: as stored', dicom('*'), IMPLICIT, IMPLICIT],
    ['type without transfer-syntax means Explicit VR LE (PS3.18 §8.7.3.5.2)', 'multipart/related; type="application/dicom"', EXPLICIT, EXPLICIT],
    ['… and an implicit instance is rewritten to it', 'multipart/related; type="application/dicom"', IMPLICIT, EXPLICIT],
    ['… and a compressed one cannot be decoded here', 'multipart/related; type="application/dicom"', JPEG_LS_LOSSLESS, '406'],
    ['unquoted type', 'multipart/related; type=application/dicom; transfer-syntax=*', JPEG_LS_LOSSLESS, JPEG_LS_LOSSLESS],
    ['q=0 on the stored syntax beats the wildcard', `${dicom('*', '0.5')}, ${dicom(JPEG_LS_LOSSLESS, '0')}`, JPEG_LS_LOSSLESS, '406'],
    ['q=0.0 refuses too', `${dicom('*', '1.0')}, ${dicom(EXPLICIT, '0.0')}`, EXPLICIT, IMPLICIT],
    ['a refused stored syntax with a wildcard falls to what can be made', `${dicom('*')}, ${dicom(IMPLICIT, '0')}`, IMPLICIT, EXPLICIT],
    ['everything refused', '*/*;q=0', EXPLICIT, '406'],
    ['not DICOM at all', 'application/json', EXPLICIT, '406'],
    ['single-part application/dicom is not served', 'application/dicom', EXPLICIT, '406'],
    ['stored preferred over a higher-q alternative', `${dicom(EXPLICIT, '1')}, ${dicom(IMPLICIT, '0.1')}`, IMPLICIT, IMPLICIT],
    ['multipart/* wildcard', 'multipart/*', RLE, RLE],
  ])('%s', (_name, accept, stored, expected) => {
    expect(choose(accept, stored)).toBe(expected);
  });

  it('does not depend on the order of the Accept headers or list elements', () => {
    const parts = [dicom(JPEG_LOSSLESS_SV1, '0.6'), dicom(EXPLICIT, '0.4'), dicom(JPEG_LS_LOSSLESS, '0.5'), dicom(IMPLICIT, '0')];
    const reversed = [...parts].reverse();
    for (const stored of [IMPLICIT, EXPLICIT, JPEG_LS_LOSSLESS, J2K_LOSSLESS]) {
      const expected = choose(parts, stored, withPacsTranscoding(stored));
      expect(choose(reversed, stored, withPacsTranscoding(stored))).toBe(expected);
      expect(choose(parts.join(','), stored, withPacsTranscoding(stored))).toBe(expected);
      expect(choose(reversed.join(' , '), stored, withPacsTranscoding(stored))).toBe(expected);
    }
    expect(choose(parts, J2K_LOSSLESS, withPacsTranscoding(J2K_LOSSLESS))).toBe(JPEG_LOSSLESS_SV1);
  });

  it('never has a lossless instance transcoded to a lossy syntax', () => {
    expect(choose(`${dicom(JPEG_BASELINE, '1')}, ${dicom(EXPLICIT, '0.1')}`, J2K_LOSSLESS, withPacsTranscoding(J2K_LOSSLESS))).toBe(EXPLICIT);
    expect(choose(dicom(JPEG_BASELINE), J2K_LOSSLESS, withPacsTranscoding(J2K_LOSSLESS))).toBe('406');
    expect(choose(dicom(JPEG_BASELINE), J2K, withPacsTranscoding(J2K))).toBe(JPEG_BASELINE);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Every ANS WADO-RS request of the reference fixtures: its Accept headers → the syntax sent, for each stored syntax.

const wadoRequests = ansRequestFiles()
  .map((path) => ({ path, request: parseHttpFixture(path) }))
  .filter((f): f is { path: string; request: NonNullable<typeof f.request> } => !!f.request && f.request.headers.some(([n, v]) => /^accept$/i.test(n) && v.includes('application/dicom')));

/**
 * Expected answers, worked out by hand from the lists: every ANS list names .4.70, .4.80, .4.91, .4.50, .4.51,
 * .4.100–.103 and Explicit VR LE with q > 0 (in different orders and weights), and none names Implicit VR LE,
 * J2K lossless (.4.90), JPEG lossless NH (.4.57) or RLE. An implicit instance is rewritten by the box to Explicit
 * VR LE (before asking the PACS anything); otherwise the best lossless alternative by q is .4.70 in every list.
 */
const EXPECTED: { stored: string; localOnly: string; withPacs: string }[] = [
  { stored: EXPLICIT, localOnly: EXPLICIT, withPacs: EXPLICIT },
  { stored: IMPLICIT, localOnly: EXPLICIT, withPacs: EXPLICIT },
  { stored: JPEG_LS_LOSSLESS, localOnly: JPEG_LS_LOSSLESS, withPacs: JPEG_LS_LOSSLESS },
  { stored: JPEG_LOSSLESS_SV1, localOnly: JPEG_LOSSLESS_SV1, withPacs: JPEG_LOSSLESS_SV1 },
  { stored: J2K, localOnly: J2K, withPacs: J2K },
  { stored: JPEG_BASELINE, localOnly: JPEG_BASELINE, withPacs: JPEG_BASELINE },
  { stored: J2K_LOSSLESS, localOnly: '406', withPacs: JPEG_LOSSLESS_SV1 },
  { stored: JPEG_LOSSLESS_NH, localOnly: '406', withPacs: JPEG_LOSSLESS_SV1 },
  { stored: RLE, localOnly: '406', withPacs: JPEG_LOSSLESS_SV1 },
];

describe('ANS WADO-RS request fixtures', () => {
  it('finds every ANS request (12 files)', () => {
    expect(wadoRequests.map((f) => relative(SHARED, f.path))).toHaveLength(12);
  });

  describe.each(wadoRequests.map((f) => [relative(SHARED, f.path), f.request] as const))('%s', (_name, request) => {
    const accept = request.headers.filter(([n]) => /^accept$/i.test(n)).map(([, v]) => v);

    it.each(EXPECTED)('stored $stored → $localOnly (box alone), $withPacs (PACS transcoding)', ({ stored, localOnly: a, withPacs: b }) => {
      expect(choose(accept, stored, localOnly(stored))).toBe(a);
      expect(choose(accept, stored, withPacsTranscoding(stored))).toBe(b);
    });

    it('accepts multipart/related application/dicom but not its frames as octet-stream', () => {
      const ranges = parseAccept(accept);
      expect(acceptsMultipartOf(ranges, 'application/dicom')).toBe(true);
      expect(acceptsMultipartOf(ranges, 'application/octet-stream')).toBe(false);
      expect(negotiateJson(ranges)).toBeUndefined();
    });
  });

  it('reads the boundary of the ANS sample response (unquoted, after start= and type=)', () => {
    const raw = readFileSync(join(SHARED, 'ansforge/DRIM-M_DATA/echantillons-validateurs/wado-rs/reponse-wado-rs.txt'), 'latin1');
    const contentType = /^Content-Type: (.*)$/m.exec(raw)![1]!;
    expect(boundaryOf(contentType)).toBe('7544a517-4f5a-4007-9762-690998213829');
  });
});

describe('JSON, frames and encoding negotiation', () => {
  it.each([
    [undefined, 'application/dicom+json'],
    ['application/dicom+json', 'application/dicom+json'],
    ['application/json', 'application/json'],
    ['application/*', 'application/dicom+json'],
    ['application/json, application/dicom+json;q=0.5', 'application/json'],
    ['application/dicom+json;q=0, */*;q=0.1', 'application/json'],
    ['multipart/related; type="application/dicom+xml"', undefined],
    ['text/html', undefined],
  ])('Accept %s → %s', (accept, expected) => {
    expect(negotiateJson(parseAccept(accept))).toBe(expected);
  });

  it.each([
    ['multipart/related; type="application/octet-stream"', EXPLICIT, 'application/octet-stream'],
    ['multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2', IMPLICIT, 'application/octet-stream'],
    ['multipart/related; type="application/octet-stream"', JPEG_LS_LOSSLESS, undefined],
    ['multipart/related; type="application/octet-stream"; transfer-syntax=*', JPEG_LS_LOSSLESS, 'application/octet-stream'],
    ['multipart/related; type="image/jls"', JPEG_LS_LOSSLESS, 'image/jls'],
    ['multipart/related; type="image/jls"', EXPLICIT, undefined],
    ['multipart/related; type="image/*"', J2K_LOSSLESS, 'image/jp2'],
    [undefined, JPEG_BASELINE, 'image/jpeg'],
  ])('frames: Accept %s, stored %s → %s', (accept, stored, expected) => {
    expect(bestMultipart(parseAccept(accept), frameRepresentations(stored))?.partType).toBe(expected);
  });

  it.each([
    [undefined, false],
    ['gzip', true],
    ['gzip, deflate, br', true],
    ['deflate', false],
    ['gzip;q=0', false],
    ['*', true],
    ['*;q=0, identity', false],
    ['identity, gzip;q=0.5', true],
  ])('Accept-Encoding %s → gzip %s', (header, expected) => {
    expect(acceptsGzip(header)).toBe(expected);
  });
});
