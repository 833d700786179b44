import { createServer, type Server, type Socket } from 'node:net';
import { mkdir } from 'node:fs/promises';
import { log } from '../log/logger.js';
import type { ReceivedInstance } from './types.js';
import {
  CEchoResponse,
  Scp,
  configureLibrary,
  constants,
  type Association,
  type CStoreRequest,
  type NetworkInternals,
  type PDataTf,
  type PresentationContext,
} from './library.js';
import { Receiver, contextIdOf, storeDecisionOf } from './receive.js';
import { encodeStoreResponse } from './command.js';
import { writeCommand } from './pdata.js';
import { installPduReader } from './pdu-reader.js';
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
const EXPLICIT_VR_BE = '1.2.840.10008.1.2.2';
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
  configureLibrary(options.maxPduLength ?? DEFAULT_MAX_PDU);
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

class BoxScp extends Scp {
  private readonly receiver: Receiver;
  private callingAeTitle = '';
  private readonly address: string;
  /** Let in by a temporary admission only: it may answer a C-MOVE, nothing else is kept from it. */
  private admittedOnly = false;
  /** The C-MOVE each routed C-STORE belongs to, for its answer. */
  private readonly routes = new WeakMap<object, MoveExpectation>();

  constructor(
    socket: Socket,
    private readonly shared: Shared,
  ) {
    super(socket, { connectTimeout: 2 ** 31 - 1, associationTimeout: 2 ** 31 - 1, pduTimeout: 2 ** 31 - 1 });
    this.address = normaliseAddress(socket.remoteAddress ?? '');
    const net = this as unknown as NetworkInternals;
    installPduReader(net, Math.max(shared.options.maxPduLength ?? DEFAULT_MAX_PDU, 64 * 1024), (err) => {
      log.warn('DICOM SCP: protocol error, aborting the association', { callingAeTitle: this.callingAeTitle, err });
      this.abortAndClose();
    });
    this.receiver = new Receiver(net, {
      openStoreSink: (context, request) => this.openSink(context, request),
      fail: (error) => {
        log.error('DICOM SCP: handing on a received instance failed', { callingAeTitle: this.callingAeTitle, err: error });
        this.abortAndClose();
      },
    });
    const idle = shared.options.idleTimeoutMs ?? 60_000;
    socket.setTimeout(idle);
    socket.on('timeout', () => {
      if (this.receiver.paused) return;
      log.warn('DICOM SCP: inbound association idle, aborting', { callingAeTitle: this.callingAeTitle, idleMs: idle });
      this.abortAndClose();
    });
    socket.on('error', (err) => log.debug('DICOM SCP: connection error', { callingAeTitle: this.callingAeTitle, err }));
    socket.on('close', () => this.receiver.dispose());
    (this as unknown as { on(e: string, l: (err: Error) => void): void }).on('networkError', (err) => {
      log.warn('DICOM SCP: protocol error, aborting the association', { callingAeTitle: this.callingAeTitle, err });
      this.abortAndClose();
    });
  }

  /** Replaces dcmjs-dimse's (see receive.ts): datasets stream to disk instead of memory. */
  _processPDataTf(pdu: PDataTf): Promise<void> {
    this.receiver.handle(pdu);
    return Promise.resolve();
  }

  override associationRequested(association: Association): void {
    this.callingAeTitle = association.getCallingAeTitle().trim();
    const called = association.getCalledAeTitle().trim();
    const { RejectReason, PresentationContextResult } = constants;
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
      this.reject(decision === 'called-ae-not-recognised' ? RejectReason.CalledAeNotRecognized : RejectReason.CallingAeNotRecognized);
      return;
    }
    this.admittedOnly = decision === 'admitted';
    for (const { context } of association.getPresentationContexts()) {
      const abstract = context.getAbstractSyntaxUid();
      if (abstract !== VERIFICATION && !isStorageClass(abstract)) {
        context.setResult(PresentationContextResult.RejectAbstractSyntaxNotSupported);
        continue;
      }
      const chosen = chooseTransferSyntax(context.getTransferSyntaxUids());
      if (chosen) context.setResult(PresentationContextResult.Accept, chosen);
      else context.setResult(PresentationContextResult.RejectTransferSyntaxesNotSupported);
    }
    this.sendAssociationAccept();
  }

  /** A-ASSOCIATE-RJ, permanent, from the service user (PS3.8 §9.3.4), then the connection is closed. */
  private reject(reason: number): void {
    this.sendAssociationReject(constants.RejectResult.Permanent, constants.RejectSource.ServiceUser, reason);
    (this as unknown as NetworkInternals).socket.end();
  }

  override associationReleaseRequested(): void {
    this.sendAssociationReleaseResponse();
  }

  override cEchoRequest(request: Parameters<InstanceType<typeof Scp>['cEchoRequest']>[0], callback: (response: InstanceType<typeof CEchoResponse>) => void): void {
    const response = CEchoResponse.fromRequest(request);
    response.setStatus(constants.Status.Success);
    callback(response);
  }

  /** The C-STORE-RSP goes straight to the socket (see command.ts), not through the callback. */
  override cStoreRequest(request: CStoreRequest): void {
    this.answerStore(request).catch((err: unknown) => {
      log.error('DICOM SCP: answering a C-STORE failed, aborting the association', { callingAeTitle: this.callingAeTitle, err });
      this.abortAndClose();
    });
  }

  override abort(): void {
    log.warn('DICOM SCP: the peer aborted the association', { callingAeTitle: this.callingAeTitle });
    (this as unknown as NetworkInternals).socket.destroy();
  }

  private openSink(context: PresentationContext, request: CStoreRequest): StoreSink {
    const meta: FileMeta = {
      sopClassUid: trimUid(String(request.getAffectedSopClassUid() ?? '')),
      sopInstanceUid: trimUid(String(request.getAffectedSopInstanceUid() ?? '')),
      transferSyntaxUid: context.getAcceptedTransferSyntaxUid() ?? '',
      sourceAeTitle: this.callingAeTitle,
    };
    if (!isValidUid(meta.sopInstanceUid) || !isValidUid(meta.sopClassUid)) {
      // 0xC000-0xCFFF: Error, cannot understand (PS3.4 B.2.3).
      return new DiscardSink({ status: 0xc000, comment: 'invalid Affected SOP Class or Instance UID' });
    }
    const command = request.getCommandDataset();
    const originatorMessageId = command.getElement('MoveOriginatorMessageID') as unknown as number | undefined;
    const originatorAeTitle = command.getElement('MoveOriginatorApplicationEntityTitle') as string | undefined;
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
    const net = this as unknown as NetworkInternals;
    const contextId = contextIdOf(request);
    if (contextId === undefined || !net.association || net.socket.destroyed) return;
    const response = encodeStoreResponse({
      sopClassUid: String(request.getAffectedSopClassUid() ?? ''),
      sopInstanceUid: String(request.getAffectedSopInstanceUid() ?? ''),
      messageIdBeingRespondedTo: request.getMessageId(),
      status,
      ...(errorComment ? { errorComment } : {}),
    });
    await writeCommand(net.socket, contextId, net.association.getMaxPduLength(), response);
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

  private abortAndClose(): void {
    const net = this as unknown as NetworkInternals;
    try {
      if (net.association) this.sendAbort(constants.AbortSource.ServiceUser, constants.AbortReason.NotSpecified);
    } finally {
      net.socket.end();
      setTimeout(() => net.socket.destroy(), 100).unref();
    }
  }
}

/** The proposer's first transfer syntax the box can store as is; Big Endian only when nothing else is offered. */
function chooseTransferSyntax(proposed: string[]): string | undefined {
  const storable = proposed.filter((ts) => STANDARD_TS.test(ts));
  return storable.find((ts) => ts !== EXPLICIT_VR_BE) ?? storable[0];
}
