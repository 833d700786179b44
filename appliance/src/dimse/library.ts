import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import dimse from 'dcmjs-dimse';
import { log } from '../log/logger.js';

/**
 * The one place that knows dcmjs-dimse 0.3.3's shape, including the internals of its Network class
 * that the box overrides (pinned version: these names are checked by the unit tests).
 */

export const { Dataset, Implementation, Scp, Transcoding, constants } = dimse;
export const { CEchoRequest, CFindRequest, CGetRequest, CMoveRequest, CStoreRequest, CCancelRequest } = dimse.requests;
export const { CEchoResponse, CFindResponse, CGetResponse, CMoveResponse, CStoreResponse } = dimse.responses;
export const { Association, PresentationContext } = dimse.association;

export type Association = InstanceType<typeof dimse.association.Association>;
export type PresentationContext = InstanceType<typeof dimse.association.PresentationContext>;
export type Request = InstanceType<typeof dimse.requests.Request>;
export type Response = InstanceType<typeof dimse.responses.Response>;
export type CStoreRequest = InstanceType<typeof dimse.requests.CStoreRequest>;
export type CStoreResponse = InstanceType<typeof dimse.responses.CStoreResponse>;
export type DimseDataset = InstanceType<typeof dimse.Dataset>;
export type Command = Request | Response;

/** One PDV of a received P-DATA-TF PDU (dcmjs-dimse's internal Pdv class). */
export interface Pdv {
  getPresentationContextId(): number;
  getValue(): Buffer;
  isCommand(): boolean;
  isLastFragment(): boolean;
}
export interface PDataTf {
  getPdvs(): Pdv[];
}

export interface NetworkOptions {
  connectTimeout?: number;
  associationTimeout?: number;
  pduTimeout?: number;
}

/** The members of dcmjs-dimse's (unexported) Network class the box uses or overrides. */
export interface NetworkInternals {
  socket: Socket;
  association: Association | undefined;
  pending: Request[];
  on(event: string, listener: (...args: never[]) => void): unknown;
  off(event: string, listener: (...args: never[]) => void): unknown;
  emit(event: string, ...args: unknown[]): boolean;
  sendAssociationRequest(association: Association): void;
  sendAssociationAccept(): void;
  sendAssociationReject(result?: number, source?: number, reason?: number): void;
  sendAssociationReleaseRequest(): void;
  sendAssociationReleaseResponse(): void;
  sendAbort(source?: number, reason?: number): void;
  _sendDimse(dimse: { context: PresentationContext; command: Command }): void;
  _performDimse(context: PresentationContext, dimse: Command): void;
  _processPDataTf(pdu: PDataTf): Promise<void>;
}

type NetworkConstructor = new (socket: Socket, opts?: NetworkOptions) => NetworkInternals;
/** dcmjs-dimse exports Scp (which extends Network) but not Network itself. */
export const Network = Object.getPrototypeOf(dimse.Scp) as NetworkConstructor;

export const Status = constants.Status;
export const TransferSyntax = constants.TransferSyntax;

/** dcmjs-dimse's classes by DIMSE Command Field (PS3.7 E.1), for the command types the box receives. */
export const commandClasses: Record<number, new () => Command> = {
  0x0030: dimse.requests.CEchoRequest,
  0x8030: dimse.responses.CEchoResponse as unknown as new () => Command,
  0x0001: dimse.requests.CStoreRequest as unknown as new () => Command,
  0x8001: dimse.responses.CStoreResponse as unknown as new () => Command,
  0x0020: dimse.requests.CFindRequest,
  0x8020: dimse.responses.CFindResponse as unknown as new () => Command,
  0x0010: dimse.requests.CGetRequest,
  0x8010: dimse.responses.CGetResponse as unknown as new () => Command,
  0x0021: dimse.requests.CMoveRequest,
  0x8021: dimse.responses.CMoveResponse as unknown as new () => Command,
  0x0fff: dimse.requests.CCancelRequest as unknown as new () => Command,
};

// dcmjs (0.51, the project's pinned copy) decodes identifiers straight to its dictionary form, which is DICOM JSON.
export interface DcmjsElement {
  vr: string;
  Value?: unknown[];
  _rawValue?: unknown;
}
interface DcmjsData {
  DicomMetaDictionary: { nameMap: Record<string, { tag: string; vr: string; name: string }> };
}
export const dcmjsData = (createRequire(import.meta.url)('dcmjs') as { data: DcmjsData }).data;

/** DRIMbox's Implementation Class UID (UUID-derived, PS3.5 B.2) and version name (PS3.7 D.3.3.2, ≤ 16 chars). */
export const IMPLEMENTATION_CLASS_UID = '2.25.176593408451284736839120915311486211466';
export const IMPLEMENTATION_VERSION_NAME = 'DRIMBOX_0_1';

let configured = false;
/** Routes dcmjs-dimse's own log (INFO by default) into ours; the box logs what matters itself. */
export function configureLibrary(maxPduLength: number): void {
  Implementation.setMaxPduLength(maxPduLength);
  if (configured) return;
  configured = true;
  Implementation.setImplementationClassUid(IMPLEMENTATION_CLASS_UID);
  Implementation.setImplementationVersion(IMPLEMENTATION_VERSION_NAME);
  const libLog = dimse.log as unknown as {
    methodFactory: (name: string) => (...args: unknown[]) => void;
    setLevel(level: string): void;
  };
  const libraryLog = log.child({ component: 'dcmjs-dimse' });
  libLog.methodFactory = () => (...args: unknown[]) => libraryLog.debug(args.map(String).join(' '));
  libLog.setLevel('warn');
}
