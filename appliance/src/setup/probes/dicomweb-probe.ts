import { bodyStart, httpStatusDetail, parseHttpUrl, probeGet, safeUrl, type NetworkFailureKind, type ProbeOutcome } from './outcome.js';

export type QidoReason = 'invalid-url' | 'unreachable' | 'tls-untrusted' | 'tls-failed' | 'timeout' | 'http-status' | 'not-dicomweb';

export interface QidoFacts {
  /** The URL asked, credentials hidden. */
  url: string;
  httpStatus: number;
  contentType: string;
  /** Studies in the answer (0 or 1: the query says limit=1). */
  studies: number;
  elapsedMs: number;
}

/** A study search answer is small: a PACS that ignores limit=1 is cut here. */
const MAX_BODY_BYTES = 256 * 1024;
const FAILURES: Record<NetworkFailureKind, QidoReason> = { unreachable: 'unreachable', timeout: 'timeout', 'tls-untrusted': 'tls-untrusted', 'tls-alert': 'tls-failed', 'tls-failed': 'tls-failed', 'not-http': 'not-dicomweb' };
const DICOM_JSON_START = /^\s*\[\s*(\]|\{\s*"[0-9A-Fa-f]{8}"\s*:\s*\{)/;

function isDicomJsonObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return Object.entries(value).every(
    ([tag, attribute]) => /^[0-9A-Fa-f]{8}$/.test(tag) && typeof attribute === 'object' && attribute !== null && /^[A-Z]{2}$/.test(String((attribute as { vr?: unknown }).vr)),
  );
}

/** QIDO-RS study search with limit=1 (PS3.18 §10.6): proves the URL is a DICOMweb service the box can query. */
export async function qidoProbe(baseUrl: string, options: { timeoutMs: number }): Promise<ProbeOutcome<QidoReason, QidoFacts>> {
  const base = parseHttpUrl(baseUrl);
  if (!base || base.search) return { ok: false, reason: 'invalid-url', detail: `"${baseUrl.slice(0, 200)}" is not an http(s) URL without query or fragment` };
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/studies`;
  url.search = 'limit=1';
  const shown = safeUrl(url);
  const got = await probeGet(url, shown, { timeoutMs: options.timeoutMs, maxBytes: MAX_BODY_BYTES, headers: { accept: 'application/dicom+json' } });
  if (!got.ok) return { ok: false, reason: FAILURES[got.kind], detail: got.detail, facts: { url: shown, elapsedMs: got.elapsedMs } };
  const { answer } = got;
  const contentType = String(answer.headers['content-type'] ?? '');
  const facts = { url: shown, httpStatus: answer.status, contentType, elapsedMs: got.elapsedMs };
  if (answer.status === 204) return { ok: true, facts: { ...facts, studies: 0 } };
  if (answer.status < 200 || answer.status > 299) return { ok: false, reason: 'http-status', detail: httpStatusDetail(shown, answer), facts };
  const snippet = bodyStart(answer.body, 200);
  const notDicomweb = (why: string): ProbeOutcome<QidoReason, QidoFacts> => ({
    ok: false,
    reason: 'not-dicomweb',
    detail: `GET ${shown}: HTTP ${answer.status}, Content-Type "${contentType}": ${why}; body starts "${snippet.slice(0, 120)}"`,
    facts,
  });
  if (!/json/i.test(contentType)) return notDicomweb('not a JSON media type');
  if (answer.truncated) {
    if (!DICOM_JSON_START.test(answer.body.toString('utf8', 0, 4096))) return notDicomweb(`more than ${MAX_BODY_BYTES} bytes, not DICOM JSON`);
    return {
      ok: true,
      facts: { ...facts, studies: 1 },
      warnings: [{ reason: 'limit-ignored', detail: `the server ignored limit=1: its answer exceeds ${MAX_BODY_BYTES} bytes` }],
    };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.body.toString('utf8'));
  } catch {
    return notDicomweb('not JSON');
  }
  if (!Array.isArray(parsed)) return notDicomweb('JSON but not an array');
  if (!parsed.every(isDicomJsonObject)) return notDicomweb('a JSON array whose items are not DICOM JSON datasets (tag → {vr, Value})');
  const warnings = parsed.length > 1 ? [{ reason: 'limit-ignored', detail: `the server ignored limit=1 and answered ${parsed.length} studies` }] : undefined;
  return { ok: true, facts: { ...facts, studies: Math.min(parsed.length, 1) }, ...(warnings ? { warnings } : {}) };
}
