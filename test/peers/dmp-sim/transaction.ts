import type { X509Certificate } from 'node:crypto';
import type { XdsError } from './errors.js';
import type { OutgoingPart } from './mime.js';
import type { SimStore } from './store.js';
import type { VihfClaims } from './vihf.js';

/** What every transaction handler gets from the simulator. */
export interface SimContext {
  store: SimStore;
  ca: X509Certificate;
  now: () => Date;
  schemaDir: string;
  repositoryUniqueId: string;
  knownPatients?: ReadonlySet<string>;
  vihfMaxAgeSeconds: number;
  clockSkewSeconds: number;
}

/** One verified request: envelope checked, body schema-valid, VIHF verified. */
export interface VerifiedRequest {
  payload: Element;
  messageId: string;
  /** Documents carried by the request, by the id of their ns4:Document element (XOP resolved). */
  documents: Map<string, Buffer>;
  /** OU of the client certificate: the submitting structure. */
  structureId: string;
  vihf: VihfClaims;
  /** Tolerated deviations found so far (envelope, MIME, VIHF), answered as Warnings. */
  warnings: XdsError[];
}

export interface TransactionResult {
  bodyXml: string;
  attachments?: OutgoingPart[];
  /** Errors and warnings reported in the answer, the request's warnings included (for the request log). */
  errors: XdsError[];
}
