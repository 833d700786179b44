import { PacsError } from './types.js';

/** The peer as a technician knows it: AE title and address. */
export interface Peer {
  aeTitle: string;
  host: string;
  port: number;
}

export function peerLabel(peer: Peer): string {
  return `${peer.aeTitle} at ${peer.host}:${peer.port}`;
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);

/** A socket error while connecting, in words: which host, what happened, what to check. */
export function connectError(peer: Peer, err: NodeJS.ErrnoException): PacsError {
  const label = peerLabel(peer);
  const details = { pacs: label, cause: err };
  if (err.code && UNREACHABLE_CODES.has(err.code)) {
    const what =
      err.code === 'ECONNREFUSED'
        ? 'connection refused: nothing listens on that port'
        : err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN'
          ? `host name ${peer.host} does not resolve`
          : `no route to host (${err.code})`;
    return new PacsError('unreachable', `PACS ${label} is unreachable (${what}): check that the PACS is running and pacs.host/pacs.port`, details);
  }
  return new PacsError('association-aborted', `connection to PACS ${label} failed: ${err.code ?? err.message}`, details);
}

/** PS3.8 §9.3.4, A-ASSOCIATE-RJ source and reason. */
export function rejectReasonText(source: number, reason: number): string {
  if (source === 1) {
    if (reason === 2) return 'application context name not supported';
    if (reason === 3) return 'calling AE title not recognised';
    if (reason === 7) return 'called AE title not recognised';
    return 'no reason given';
  }
  if (source === 2) return reason === 2 ? 'protocol version not supported' : 'no reason given (ACSE)';
  if (source === 3) return reason === 1 ? 'temporary congestion' : reason === 2 ? 'local limit exceeded' : 'no reason given (presentation)';
  return `source ${source}, reason ${reason}`;
}

export function associationRejected(peer: Peer, callingAeTitle: string, reject: { result: number; source: number; reason: number }): PacsError {
  const label = peerLabel(peer);
  const why = rejectReasonText(reject.source, reject.reason);
  let hint = reject.result === 2 ? 'transient: retry later' : 'permanent';
  if (reject.source === 1 && reject.reason === 3) {
    hint = `declare the box's AE title "${callingAeTitle}" in the PACS as a modality (AE title, host, port)`;
  } else if (reject.source === 1 && reject.reason === 7) {
    hint = `pacs.aeTitle is "${peer.aeTitle}": it must be the PACS's own AE title`;
  }
  return new PacsError('association-rejected', `PACS ${label} rejected the association: ${why} (${hint})`, {
    pacs: label,
    cause: reject,
  });
}

/** PS3.8 §9.3.8, A-ABORT source; a PACS that aborts right after a request usually refuses the operation to this AE title. */
export function associationAborted(peer: Peer, abort: { source: number; reason: number }, during: string, callingAeTitle: string): PacsError {
  const label = peerLabel(peer);
  const by = abort.source === 0 ? 'the PACS' : abort.source === 2 ? "the PACS's DICOM stack (protocol error)" : 'an unknown source';
  let hint = '';
  const operation = /^C-(FIND|GET|MOVE|STORE)/.exec(during)?.[0];
  if (operation) {
    hint = `: check that the PACS declares the box's AE title "${callingAeTitle}" with the right to ${operation}`;
    if (during.startsWith('C-GET')) hint += '; a PACS without C-GET needs pacs.retrieve set to "C-MOVE"';
  }
  return new PacsError('association-aborted', `association with PACS ${label} aborted by ${by} during ${during} (reason ${abort.reason})${hint}`, {
    pacs: label,
    cause: abort,
  });
}

export function statusHex(status: number): string {
  return `0x${status.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Words for the DIMSE statuses a technician meets (PS3.4 annex C and B, PS3.7 annex C). */
export function statusText(status: number): string {
  switch (status) {
    case 0x0000:
      return 'success';
    case 0xfe00:
      return 'cancelled';
    case 0xa700:
    case 0xa701:
    case 0xa702:
      return 'refused: out of resources';
    case 0xa801:
      return 'refused: move destination unknown';
    case 0xa900:
      return 'identifier or dataset does not match the SOP class';
    case 0x0122:
      return 'SOP class not supported';
    case 0x0124:
      return 'not authorised';
    case 0x0211:
      return 'unrecognised operation';
    case 0x0110:
      return 'processing failure';
    case 0xb000:
      return 'warning: sub-operations complete, one or more failures or warnings';
    case 0xb007:
      return 'warning: dataset does not match the SOP class';
    case 0xb006:
      return 'warning: elements discarded';
    default:
      if (status >= 0xc000 && status <= 0xcfff) return 'unable to process';
      return 'failure';
  }
}
