import { createServer, type Server, type Socket } from 'node:net';
import { mkdir } from 'node:fs/promises';
import { EXPLICIT_VR_BE } from '../dicom/transfer-syntax-uids.js';
import { log } from '../log/logger.js';
import type { ReceivedInstance } from './types.js';
import { DicomConnection } from './connection.js';
import { associateAccept } from './negotiation.js';
import type { NegotiatedContexts, PresentationContext } from './presentation-context.js';
import { CommandField, echoResponse, type CStoreRequest, type DimseMessage } from './message.js';
import { ContextResult, RejectReason, RejectResult, RejectSource, DICOM_APPLICATION_CONTEXT } from './pdu/constants.js';
import type { AssociateRq } from './pdu/associate.js';
import { Receiver, contextIdOf, storeDecisionOf } from './receive.js';
import { encodeStoreResponse } from './command.js';
import { writeCommand, writeMessage } from './pdata.js';
import { DiscardSink, FileSink, type StoreSink } from './sink.js';
import { MoveRouter, StudyPeekingSink, type MoveExpectation } from './move-router.js';
import { isValidUid, trimUid } from './uid.js';
import type { FileMeta } from './part10.js';
import { normaliseAddress } from '../auth/address-list.js';
import { ScpAdmissions, type RefusedAssociation, type TemporaryAdmission } from './scp-admissions.js';

export { MAX_ADMISSION_MS, type RefusalReason, type RefusedAssociation, type TemporaryAdmission } from './scp-admissions.js';

export interface InstanceOrigin {
  callingAeTitle: string;
  /** True when the instance answered one of the box's own C-MOVEs (it is then in that retrieve's folder). */
  retrieve: boolean;
}

export interface StoreScpOptions {
  aeTitle: string;
  host: string;
  /** 0: any free port (tests). */
  port: number;
  /** Calling AE titles allowed to associate; any other is rejected with "calling AE title not recognised". */
  allowedCallingAeTitles: string[];
  /**
   * Peer addresses allowed to connect at all (an AE title is not authentication): others are closed before a byte
   * is read. Undefined: any address (tests of the SCP alone).
   */
  allowedAddresses?: { has(address: string): boolean };
  /** Concurrent inbound associations; more are closed at once (default 16). */
  maxAssociations?: number;
  /**
   * Which instances the box keeps when no retrieve of its own asked for them (default: all). The box refuses the
   * others rather than answer Success and keep nothing: a sender may delete its copy after a Success.
   */
  acceptUnsolicited?: (sopClassUid: string) => boolean;
  /** Where instances that no retrieve waits for are written (`<SOP Instance UID>.dcm`). */
  storageDir: string;
  /** Every instance received, once on disk; a rejection makes the C-STORE answer "refused: out of resources" (the PACS may retry). */
  onInstance?: (instance: ReceivedInstance, origin: InstanceOrigin) => void | Promise<void>;
  /** Inactivity timeout of an inbound association (default 60 s). */
  idleTimeoutMs?: number;
  maxPduLength?: number;
}

export interface StoreScp {
  readonly aeTitle: string;
  readonly port: number;
  /** For the PACS bridge: route the instances of a C-MOVE to the retrieve waiting for them. Returns the unregister function. */
  expectMove(expectation: MoveExpectation): () => void;
  /** Lets one more peer associate (and be routed as a C-MOVE source) until revoked or ttlMs elapses. Returns the revoke function. */
  admitTemporarily(admission: TemporaryAdmission): () => void;
  /** The last connection or association the SCP refused, and why. */
  lastRefusal(): RefusedAssociation | undefined;
  close(): Promise<void>;
}

const VERIFICATION = '1.2.840.10008.1.1';
const DEFAULT_MAX_PDU = 262_144;
/** All standard transfer syntaxes live under 1.2.840.10008.1.2 (PS3.6 Table A-1); the box stores the bytes, it need not decode them. */
const STANDARD_TS = /^1\.2\.840\.10008\.1\.2(\.[0-9]+)*$/;
/** Storage SOP classes (PS3.4 B.5) and private ones; other standard services (Q/R, worklist, MPPS...) are not offered. */
function isStorageClass(uid: string): boolean {
  return uid.startsWith('1.2.840.10008.5.1.4.1.1.') || !uid.startsWith('1.2.840.10008.');
}

interface Shared {
  options: StoreScpOptions;
  router: MoveRouter;
  admissions: ScpAdmissions;
  connections: Set<Socket>;
}

/** The box's C-ECHO/C-STORE SCP: the C-MOVE destination, and where the PACS pushes IOCM rejection notes. */
export async function startStoreScp(options: StoreScpOptions): Promise<StoreScp> {
  if (options.allowedCallingAeTitles.length === 0) {
    throw new Error('startStoreScp: allowedCallingAeTitles is empty, no PACS could store to the box (give at least the PACS AE title)');
  }
  await mkdir(options.storageDir, { recursive: true });
  const router = new MoveRouter(options.aeTitle);
  const shared: Shared = { options, router, admissions: new ScpAdmissions(options, router), connections: new Set() };
  const maxAssociations = options.maxAssociations ?? 16;
  const server: Server = createServer((socket) => {
    const peer = normaliseAddress(socket.remoteAddress ?? '');
    if (!shared.admissions.mayConnect(peer)) {
      log.warn('DICOM SCP: connection refused, address not declared', { peer });
      shared.admissions.refused({ address: peer, reason: 'address-not-allowed' });
      socket.destroy();
      return;
    }
    if (shared.connections.size >= maxAssociations) {
      log.warn('DICOM SCP: connection refused, too many associations', { peer, maxAssociations });
      shared.admissions.refused({ address: peer, reason: 'too-many-associations' });
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    shared.connections.add(socket);
    socket.on('close', () => shared.connections.delete(socket));
    try {
      new BoxScp(socket, shared);
    } catch (err) {
      log.error('DICOM SCP: cannot serve a connection', { err });
      socket.destroy();
    }
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'another program already uses that port' : err.code === 'EACCES' ? 'not allowed to use that port' : err.message;
      reject(new Error(`the box's DICOM SCP cannot listen on ${options.host}:${options.port} (${why}): check dimse.port and dimse.listenHost`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(options.port, options.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => log.error('DICOM SCP server error', { err }));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  log.info('DICOM SCP listening', { aeTitle: options.aeTitle, host: options.host, port });
  return {
    aeTitle: options.aeTitle,
    port,
    expectMove: (expectation) => shared.router.expect(expectation),
    admitTemporarily: (admission) => shared.admissions.admit(admission),
    lastRefusal: () => shared.admissions.lastRefusal(),
    close: () =>
      new Promise<void>((resolve) => {
        shared.admissions.revokeAll();
        server.close(() => resolve());
        for (const socket of shared.connections) socket.destroy();
      }),
  };
}

/** One inbound association: the box as acceptor, C-ECHO and C-STORE SCP. */
class BoxScp {
  private readonly connection: DicomConnection;
  private readonly receiver: Receiver;
  private contexts: NegotiatedContexts | undefined;
  private peerMaxPdu = 0;
  private callingAeTitle = '';
  private readonly address: string;
  /** Let in by a temporary admission only: it may answer a C-MOVE, nothing else is kept from it. */
  private admittedOnly = false;
  /** The C-MOVE each routed C-STORE belongs to, for its answer. */
  private readonly routes = new WeakMap<object, MoveExpectation>();

  constructor(
    private readonly socket: Socket,
    private readonly shared: Shared,
  ) {
    this.address = normaliseAddress(socket.remoteAddress ?? '');
    const maxPduLength = shared.options.maxPduLength ?? DEFAULT_MAX_PDU;
    this.connection = new DicomConnection(socket, 'acceptor', Math.max(maxPduLength, 64 * 1024), {
      associateRequest: (rq) => this.associationRequested(rq, maxPduLength),
      pdata: (pdvs) => this.receiver.handle(pdvs),
      aborted: () => log.warn('DICOM SCP: the peer aborted the association', { callingAeTitle: this.callingAeTitle }),
      protocolError: (err) => log.warn('DICOM SCP: protocol error, association aborted', { callingAeTitle: this.callingAeTitle, peer: this.address, err }),
    });
    this.receiver = new Receiver(socket, {
      contexts: () => this.contexts!,
      deliver: (context, message) => this.delivered(context, message),
      openStoreSink: (context, request) => this.openSink(context, request),
      fail: (error) => {
        log.error('DICOM SCP: handing on a received instance failed', { callingAeTitle: this.callingAeTitle, err: error });
        this.connection.abort();
      },
    });
    const idle = shared.options.idleTimeoutMs ?? 60_000;
    socket.setTimeout(idle);
    socket.on('timeout', () => {
      // A peer the box itself paused (disk backpressure) is not idle.
      if (this.receiver.paused) return;
      log.warn('DICOM SCP: inbound association idle, aborting', { callingAeTitle: this.callingAeTitle, idleMs: idle });
      this.connection.abort();
    });
    socket.on('error', (err) => log.debug('DICOM SCP: connection error', { callingAeTitle: this.callingAeTitle, err }));
    socket.on('close', () => this.receiver.dispose());
  }

  private associationRequested(rq: AssociateRq, maxPduLength: number): void {
    this.callingAeTitle = rq.callingAeTitle;
    const called = rq.calledAeTitle;
    if ((rq.protocolVersion & 1) === 0) {
      log.warn('DICOM SCP: association rejected, protocol version not supported', { callingAeTitle: this.callingAeTitle, protocolVersion: rq.protocolVersion });
      this.connection.reject({ result: RejectResult.Permanent, source: RejectSource.ServiceProviderAcse, reason: RejectReason.ProtocolVersionNotSupported });
      return;
    }
    if (rq.applicationContext !== DICOM_APPLICATION_CONTEXT) {
      log.warn('DICOM SCP: association rejected, application context not supported', { callingAeTitle: this.callingAeTitle, applicationContext: rq.applicationContext });
      this.connection.reject({ result: RejectResult.Permanent, source: RejectSource.ServiceUser, reason: RejectReason.ApplicationContextNameNotSupported });
      return;
    }
    const decision = this.shared.admissions.decide(this.address, this.callingAeTitle, called);
    if (decision !== 'configured' && decision !== 'admitted') {
      const why = {
        'called-ae-not-recognised': 'called AE title is not the box',
        'calling-ae-not-recognised': 'calling AE title not allowed (dimse.allowedCallingAeTitles)',
        'address-not-allowed': 'this AE title is not expected from this address',
        'too-many-associations': 'too many associations',
      }[decision];
      log.warn(`DICOM SCP: association rejected, ${why}`, { called, callingAeTitle: this.callingAeTitle, peer: this.address });
      this.shared.admissions.refused({ address: this.address, callingAeTitle: this.callingAeTitle, calledAeTitle: called, reason: decision });
      // A-ASSOCIATE-RJ, permanent, from the service user (PS3.8 §9.3.4), then the connection is closed.
      this.connection.reject({
        result: RejectResult.Permanent,
        source: RejectSource.ServiceUser,
        reason: decision === 'called-ae-not-recognised' ? RejectReason.CalledAeNotRecognized : RejectReason.CallingAeNotRecognized,
      });
      return;
    }
    this.admittedOnly = decision === 'admitted';
    const { ac, contexts } = associateAccept(rq, maxPduLength, (abstract, proposed) => {
      if (abstract !== VERIFICATION && !isStorageClass(abstract)) return { result: ContextResult.AbstractSyntaxNotSupported };
      const chosen = chooseTransferSyntax(proposed);
      return chosen ? { result: ContextResult.Acceptance, transferSyntaxUid: chosen } : { result: ContextResult.TransferSyntaxesNotSupported };
    });
    this.contexts = contexts;
    this.peerMaxPdu = rq.user.maxPduLength;
    this.connection.accept(ac);
  }

  /** A complete request: C-ECHO answered at once, C-STORE once its dataset is on disk. */
  private delivered(context: PresentationContext, message: DimseMessage): void {
    if (message.commandField === CommandField.CEchoRq) {
      writeMessage(this.socket, context.id, this.peerMaxPdu, echoResponse(message).encodeCommand()).catch(() => undefined);
      return;
    }
    if (message.commandField === CommandField.CStoreRq) {
      this.answerStore(message).catch((err: unknown) => {
        log.error('DICOM SCP: answering a C-STORE failed, aborting the association', { callingAeTitle: this.callingAeTitle, err });
        this.connection.abort();
      });
      return;
    }
    throw new Error(`DIMSE command 0x${message.commandField.toString(16)} is not served by the box's SCP`);
  }

  private openSink(context: PresentationContext, request: CStoreRequest): StoreSink {
    const meta: FileMeta = {
      sopClassUid: trimUid(String(request.getAffectedSopClassUid() ?? '')),
      sopInstanceUid: trimUid(String(request.getAffectedSopInstanceUid() ?? '')),
      transferSyntaxUid: context.transferSyntaxUid ?? '',
      sourceAeTitle: this.callingAeTitle,
    };
    if (!isValidUid(meta.sopInstanceUid) || !isValidUid(meta.sopClassUid)) {
      // 0xC000-0xCFFF: Error, cannot understand (PS3.4 B.2.3).
      return new DiscardSink({ status: 0xc000, comment: 'invalid Affected SOP Class or Instance UID' });
    }
    const originatorMessageId = request.getElement('MoveOriginatorMessageID');
    const originatorAeTitle = request.getElement('MoveOriginatorApplicationEntityTitle') as string | undefined;
    log.debug('DICOM SCP: C-STORE received', { callingAeTitle: this.callingAeTitle, sopInstanceUid: meta.sopInstanceUid, originatorMessageId, originatorAeTitle });
    const route = this.shared.router.route({
      callingAeTitle: this.callingAeTitle,
      originatorMessageId: typeof originatorMessageId === 'number' ? originatorMessageId : undefined,
      originatorAeTitle: originatorAeTitle?.trim() || undefined,
    });
    if (route === 'by-study') {
      return new StudyPeekingSink(meta, (study) => this.sinkFor(meta, request, this.shared.router.byStudy(this.callingAeTitle, study)));
    }
    return this.sinkFor(meta, request, route);
  }

  private sinkFor(meta: FileMeta, request: CStoreRequest, move: MoveExpectation | undefined): StoreSink {
    if (!move) {
      if (this.admittedOnly) return new DiscardSink({ status: 0x0124, comment: 'not kept: this peer is admitted for a test retrieve only' });
      if (this.shared.options.acceptUnsolicited && !this.shared.options.acceptUnsolicited(meta.sopClassUid)) {
        // 0124H Refused: Not authorized (PS3.7 Annex C): nothing is kept, so nothing may be acknowledged.
        return new DiscardSink({ status: 0x0124, comment: 'not kept: the box stores only what it retrieves, and IOCM notes' });
      }
      return new FileSink(meta, this.shared.options.storageDir);
    }
    this.routes.set(request, move);
    const sink = new FileSink(meta, move.outDir);
    return {
      write: (chunk) => {
        move.touch();
        return sink.write(chunk);
      },
      drained: () => sink.drained(),
      end: () => sink.end(),
      destroy: () => sink.destroy(),
    };
  }

  private async answerStore(request: CStoreRequest): Promise<void> {
    const decision = storeDecisionOf(request);
    let status = 0xc000;
    let errorComment: string | undefined;
    if (decision && 'failure' in decision) {
      log.warn('DICOM SCP: instance refused', { callingAeTitle: this.callingAeTitle, status: decision.failure.status, reason: decision.failure.comment });
      status = decision.failure.status;
      errorComment = decision.failure.comment;
    } else if (decision) {
      status = await this.statusOf(request, decision.instance);
    }
    const contextId = contextIdOf(request);
    if (contextId === undefined || !this.connection.canSendData) return;
    const response = encodeStoreResponse({
      sopClassUid: String(request.getAffectedSopClassUid() ?? ''),
      sopInstanceUid: String(request.getAffectedSopInstanceUid() ?? ''),
      messageIdBeingRespondedTo: request.getMessageId(),
      status,
      ...(errorComment ? { errorComment } : {}),
    });
    await writeCommand(this.socket, contextId, this.peerMaxPdu, response);
  }

  /** Hands the instance to the retrieve waiting for it, then to the SCP's observer; their answer is the C-STORE status. */
  private async statusOf(request: CStoreRequest, instance: ReceivedInstance): Promise<number> {
    const move = this.routes.get(request);
    let status = 0x0000;
    if (move) {
      try {
        status = await move.stored(instance);
      } catch (err) {
        log.error('DICOM SCP: the retrieve waiting for this instance failed to take it', { err });
        status = 0xa700;
      }
    }
    try {
      await this.shared.options.onInstance?.(instance, { callingAeTitle: this.callingAeTitle, retrieve: move !== undefined });
    } catch (err) {
      log.error('DICOM SCP: processing a received instance failed; answering "out of resources" so the sender retries', {
        sopInstanceUid: instance.sopInstanceUid,
        err,
      });
      if (!move) status = 0xa700;
    }
    return status;
  }
}

/** The proposer's first transfer syntax the box can store as is; Big Endian only when nothing else is offered. */
function chooseTransferSyntax(proposed: string[]): string | undefined {
  const storable = proposed.filter((ts) => STANDARD_TS.test(ts));
  return storable.find((ts) => ts !== EXPLICIT_VR_BE) ?? storable[0];
}
