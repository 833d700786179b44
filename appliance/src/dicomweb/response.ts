/**
 * What the DICOMweb services answer: a status, headers and a body that streams. Routes turn it into an HTTP
 * response as is; `served` fills while the body is sent, for the audit trail.
 */

export interface Served {
  instances: number;
  /** Instances left out because no acceptable representation could be made of them. */
  skipped: number;
}

export interface DicomwebResponse {
  status: number;
  headers: Record<string, string>;
  body: AsyncIterable<Uint8Array> | Uint8Array | null;
  served: Served;
}

/**
 * Series → SOP Instance UIDs a caller may see (the instances the granting KOS references): a study-level request
 * is narrowed to them (ci-sis-imaging.md §3.2, source-side checks). Absent: no restriction.
 */
export type Coverage = ReadonlyMap<string, ReadonlySet<string>>;

/** What a request brings that shapes the answer. */
export interface RequestContext {
  /** Every Accept header of the request (or the one comma list). */
  accept: string | readonly string[] | undefined;
  acceptEncoding?: string;
  /** The box's policy lets it gzip the instances it serves to this caller (if the caller accepts gzip). */
  compressInstances?: boolean;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  coverage?: Coverage;
}

/** An AbortController aborted with `parent` (the client), and on demand (the body was dropped). */
export function linkedController(parent: AbortSignal): AbortController {
  const controller = new AbortController();
  if (parent.aborted) controller.abort(parent.reason);
  else parent.addEventListener('abort', () => controller.abort(parent.reason), { once: true });
  return controller;
}
