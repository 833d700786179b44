/**
 * The one error type of the DICOMweb layer: an HTTP status and a message safe to show a remote caller.
 * `detail` (PACS addresses, upstream bodies, causes) is for the box's log only, never for a response body.
 */
export class DicomwebError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly detail?: { cause?: unknown; upstream?: string; [key: string]: unknown },
  ) {
    super(message);
    this.name = 'DicomwebError';
  }
}

export function isDicomwebError(err: unknown): err is DicomwebError {
  return err instanceof DicomwebError;
}

export function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || (err as { code?: string }).code === 'ABORT_ERR');
}
