import type { DicomJson, QueryLevel, RetrieveTarget } from '../../dicom/model.js';
import type { RelaySource } from '../multipart-relay.js';
import type { QidoQuery } from '../qido-query.js';

/**
 * Where the images come from: the PACS's own DICOMweb service, or DIMSE through the PACS bridge. Both give
 * search results as they arrive and instances one at a time; the DICOMweb one can also pass frames, bulk data and
 * metadata through, and have the PACS transcode an instance.
 */

export interface SearchRequest {
  level: QueryLevel;
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
  query: QidoQuery;
}

export interface InstanceRef {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
}

/** One instance from the PACS. `body()` is read once; `dispose()` is called once, after use or when skipped. */
export interface UpstreamInstance {
  transferSyntaxUid: string;
  sopInstanceUid?: string;
  /** The Part-10 file on disk, when the upstream wrote one (DIMSE). */
  path?: string;
  size?: number;
  body(): AsyncIterable<Uint8Array>;
  dispose(): Promise<void>;
}

/** How the caller will read the instances it asks for. */
export interface InstanceHints {
  /** Each body read once, start to end, in the order given, and nothing else asked of it (no path, no rescan). */
  readOnceInOrder?: boolean;
}

/** A multipart response of the PACS, to be re-framed under our own boundary. */
export interface UpstreamMultipart {
  contentType: string;
  body: AsyncIterable<Uint8Array>;
}

export interface ImageUpstream {
  /** For logs only ("PACS DICOMweb", "PACS DIMSE ORTHANC"); never shown to a caller. */
  readonly description: string;
  /** Whether the upstream applies `limit` and `offset` itself (QIDO does; C-FIND has no paging). */
  readonly searchIsPaged: boolean;
  search(request: SearchRequest, signal: AbortSignal): AsyncIterable<DicomJson>;
  /** Instances of a study, series or instance, each as soon as the PACS delivers it. */
  instances(target: RetrieveTarget, signal: AbortSignal, hints?: InstanceHints): AsyncIterable<UpstreamInstance>;
  /**
   * The PACS's multipart answer for a study, series or instance, as stored, to be relayed part by part without
   * conversion (DICOMweb upstream only).
   */
  relay?(target: RetrieveTarget, signal: AbortSignal): Promise<RelaySource>;
  /** Has the PACS transcode one instance (DICOMweb; over DIMSE by C-GET, to an uncompressed syntax only). */
  /**
   * `storedPath`: the instance as stored, already on disk and kept until this returns — an upstream that converts by
   * itself reads it instead of fetching it again.
   */
  transcode?(ref: InstanceRef, transferSyntaxUid: string, signal: AbortSignal, storedPath?: string): Promise<UpstreamInstance>;
  /** Whether `transcode` can reach this transfer syntax (absent: any). */
  canTranscodeTo?(transferSyntaxUid: string): boolean;
  /** The PACS's own series metadata, with its own URIs (DICOMweb upstream only). */
  seriesMetadata?(studyInstanceUid: string, seriesInstanceUid: string, signal: AbortSignal): Promise<DicomJson[]>;
  /** A frames or bulk-data request passed to the PACS as is, with the caller's Accept (DICOMweb upstream only). */
  passthrough?(path: string, accept: string, signal: AbortSignal): Promise<UpstreamMultipart>;
  /** The path below the DICOMweb root of one of the PACS's URLs, or undefined when it is not one of them. */
  relativePath?(url: string): string | undefined;
}
