import { connect, type Socket } from 'node:net';
import { log } from '../log/logger.js';
import { PacsError } from './types.js';
import { associationAborted, associationRejected, connectError, peerLabel, type Peer } from './errors.js';
import { DicomConnection } from './connection.js';
import { associateRequest, negotiatedContexts, type ProposedContext } from './negotiation.js';
import type { NegotiatedContexts, PresentationContext } from './presentation-context.js';
import { cancelRequest, type CStoreRequest, type DimseMessage, type Request, type Response } from './message.js';
import type { AssociateRq } from './pdu/associate.js';
import { Receiver, contextIdOf, storeDecisionOf } from './receive.js';
import { sendRawDataset, writeCommand, writeMessage } from './pdata.js';
import { encodeStoreRequest, encodeStoreResponse } from './command.js';
import type { StoreDecision, StoreSink } from './sink.js';

export type { ProposedContext } from './negotiation.js';

/** Incoming C-STOREs on this association (C-GET sub-operations). */
export interface StoreHandler {
  openSink(context: PresentationContext, request: CStoreRequest): StoreSink;
  /** Called once the instance is on disk (or refused): returns the C-STORE-RSP status. */
  stored(request: CStoreRequest, decision: StoreDecision): Promise<number>;
}

export interface AssociationParams {
  peer: Peer;
  callingAeTitle: string;
  contexts: ProposedContext[];
  connectTimeoutMs: number;
  /** Inactivity timeout: any PDU received (or sent, for a long C-STORE) restarts it. */
  responseTimeoutMs: number;
  /** The box's maximum PDU length, as advertised: a longer PDU from the peer is a protocol error. */
  maxPduLength: number;
  signal?: AbortSignal;
  store?: StoreHandler;
}

/** Association PDUs are small but not bounded by the P-DATA maximum: this much is always accepted. */
const MIN_PDU_LIMIT = 64 * 1024;
/** One read from the PACS: a few PDUs of the usual 16–64 KiB, so each read callback carries more than one. */
const READ_BUFFER_BYTES = 256 * 1024;
/** Maximum number of presentation contexts in one association (odd IDs 1-255, PS3.8 §9.3.2.2). */
export const MAX_CONTEXTS = 128;

let lastMessageId = 0;
/** Message IDs unique across the process (not only per association), so a C-MOVE's Move Originator Message ID names one retrieve. */
function nextMessageId(): number {
  lastMessageId = (lastMessageId % 0xffff) + 1;
  return lastMessageId;
}

function isPending(status: number): boolean {
  return status === 0xff00 || status === 0xff01;
}

interface Operation {
  request: Request;
  context: PresentationContext;
  fail(error: PacsError): void;
  response(message: Response): void;
}

/**
 * One association from the box to a peer: connect, negotiate, run DIMSE operations, release.
 * Every failure (socket, reject, abort, timeout, protocol) ends up as one PacsError, given to every
 * operation in flight; nothing is ever left to reject unhandled.
 */
export class ScuAssociation {
  private readonly connection: DicomConnection;
  private readonly receiver: Receiver;
  private readonly label: string;
  private readonly request: AssociateRq;
  private contexts: NegotiatedContexts | undefined;
  private peerMaxPduLength = 0;
  private failure: PacsError | undefined;
  private closed = false;
  private connected = false;
  /** Operations in flight by Message ID. */
  private readonly operations = new Map<number, Operation>();
  private waiting = 0;
  private lastActivity = Date.now();
  private readonly watchdog: NodeJS.Timeout;
  private during = 'association negotiation';
  private onClosed: (() => void)[] = [];
  private failureListeners: ((error: PacsError) => void)[] = [];
  private acceptedListener: (() => void) | undefined;

  private constructor(
    private readonly params: AssociationParams,
    private readonly socket: Socket,
  ) {
    this.label = peerLabel(params.peer);
    this.request = associateRequest({ callingAeTitle: params.callingAeTitle, calledAeTitle: params.peer.aeTitle, maxPduLength: params.maxPduLength, contexts: params.contexts });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.fail(
        this.connected
          ? new PacsError('association-aborted', `connection to PACS ${this.label} lost during ${this.during}: ${err.code ?? err.message}`, { pacs: this.label, cause: err })
          : connectError(params.peer, err),
      );
    });
    socket.once('connect', () => (this.connected = true));
    socket.setTimeout(0);
    this.connection = new DicomConnection(socket, 'requestor', Math.max(params.maxPduLength, MIN_PDU_LIMIT), {
      accepted: (ac) => {
        this.contexts = negotiatedContexts(this.request, ac);
        this.peerMaxPduLength = ac.user.maxPduLength;
        this.waiting--;
        this.during = 'idle association';
        this.acceptedListener?.();
      },
      rejected: (rj) => {
        this.waiting--;
        this.fail(associationRejected(params.peer, params.callingAeTitle, rj));
      },
      pdata: (pdvs) => this.receiver.handle(pdvs),
      releaseRequested: () => {
        // The PACS ends the association (PS3.8 A-RELEASE, acceptor side): answered, and what is in flight fails.
        this.fail(new PacsError('association-aborted', `PACS ${this.label} released the association during ${this.during}`, { pacs: this.label }));
        this.connection.answerRelease();
      },
      aborted: (abort) => this.fail(associationAborted(params.peer, abort, this.during, params.callingAeTitle)),
      protocolError: (err) => {
        log.warn('DICOM protocol error, association aborted', { pacs: this.label, during: this.during, err });
        this.fail(new PacsError('association-aborted', `DICOM protocol error from PACS ${this.label} during ${this.during}: ${err.message}`, { pacs: this.label, cause: err }));
      },
    });
    this.receiver = new Receiver(socket, {
      contexts: () => this.contexts!,
      deliver: (context, message) => this.delivered(context, message),
      openStoreSink: (context, request) => {
        if (!params.store) throw new Error('C-STORE received on an association that did not propose to store');
        return params.store.openSink(context, request);
      },
      fail: (error) => {
        this.fail(new PacsError('failed', `receiving from PACS ${this.label} failed: ${error.message}`, { pacs: this.label, cause: error }));
        this.abort();
      },
    });
    socket.on('data', () => (this.lastActivity = Date.now()));
    socket.on('close', () => {
      this.closed = true;
      clearInterval(this.watchdog);
      this.receiver.dispose();
      this.fail(new PacsError('association-aborted', `connection to PACS ${this.label} closed during ${this.during}`, { pacs: this.label }));
      for (const cb of this.onClosed.splice(0)) cb();
    });
    const period = Math.max(50, Math.min(1000, Math.floor(params.responseTimeoutMs / 4)));
    this.watchdog = setInterval(() => this.checkInactivity(), period);
    this.watchdog.unref();
  }

  /** Connects and negotiates; resolves once the PACS has accepted the association. */
  static open(params: AssociationParams): Promise<ScuAssociation> {
    const { peer } = params;
    if (params.signal?.aborted) return Promise.reject(cancelled(peer));
    return new Promise<ScuAssociation>((resolve, reject) => {
      // Reads go into one buffer of the association's own, not a fresh 64 KiB buffer per read for the collector to
      // reclaim (10,000 of them per 685 MB study); the connection copies what it keeps of it (DicomConnection.receive).
      const readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
      let connection: DicomConnection | undefined;
      const socket = connect({
        host: peer.host,
        port: peer.port,
        onread: {
          buffer: readBuffer,
          callback: (bytes) => {
            connection?.receive(readBuffer.subarray(0, bytes));
            return true; // a pause is the receiver's: socket.pause() stops reads in this mode too
          },
        },
      });
      socket.setNoDelay(true);
      let association: ScuAssociation;
      try {
        association = new ScuAssociation(params, socket);
        connection = association.connection;
      } catch (err) {
        socket.destroy();
        reject(err);
        return;
      }
      let settled = false;
      const settle = (error: PacsError | undefined) => {
        if (settled) return;
        settled = true;
        clearTimeout(connectTimer);
        params.signal?.removeEventListener('abort', onAbort);
        if (error) {
          association.fail(error);
          association.abort();
          reject(error);
        } else resolve(association);
      };
      const onAbort = () => settle(cancelled(peer));
      const connectTimer = setTimeout(() => {
        settle(
          new PacsError(
            'timeout',
            `PACS ${peerLabel(peer)} did not accept a connection within ${params.connectTimeoutMs} ms (dimse.connectTimeoutMs): check the address and any firewall in between`,
            { pacs: peerLabel(peer) },
          ),
        );
      }, params.connectTimeoutMs);
      params.signal?.addEventListener('abort', onAbort, { once: true });
      association.waiting++;
      association.failureListeners.push((error) => settle(error));
      association.acceptedListener = () => settle(undefined);
      socket.once('connect', () => {
        clearTimeout(connectTimer);
        // Cancelled or timed out while TCP was connecting: the association is already aborted, nothing to send.
        if (settled || association.connection.state !== 'Sta5-awaiting-ac') {
          socket.destroy();
          return;
        }
        association.lastActivity = Date.now();
        association.connection.requestAssociation(association.request);
      });
    });
  }

  /** The accepted context for an abstract syntax, preferring one whose transfer syntax is the one given. */
  acceptedContext(abstractSyntaxUid: string, transferSyntaxUid?: string): PresentationContext | undefined {
    let fallback: PresentationContext | undefined;
    for (const context of this.contexts?.all() ?? []) {
      if (context.abstractSyntaxUid !== abstractSyntaxUid || !context.accepted) continue;
      if (transferSyntaxUid === undefined || context.transferSyntaxUid === transferSyntaxUid) return context;
      fallback ??= context;
    }
    return transferSyntaxUid === undefined ? fallback : undefined;
  }

  /** The peer's maximum PDU length, as accepted (0: no limit). */
  get peerMaxPdu(): number {
    return this.peerMaxPduLength;
  }

  get isUsable(): boolean {
    return !this.failure && !this.closed && this.connection.canSendData;
  }

  /**
   * Runs one DIMSE request; `onResponse` sees each pending response as it arrives; resolves with the final one.
   * `sendDataset`, when given, writes the message itself (C-STORE of a file's raw bytes).
   */
  perform(
    request: Request,
    context: PresentationContext,
    what: string,
    onResponse?: (response: Response) => void,
    sendDataset?: (contextId: number, messageId: number) => Promise<void>,
  ): Promise<Response> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.isUsable) return Promise.reject(new PacsError('association-aborted', `association with PACS ${this.label} is closed`, { pacs: this.label }));
    request.setMessageId(nextMessageId());
    const messageId = request.getMessageId();
    return new Promise<Response>((resolve, reject) => {
      const finish = (error: PacsError | undefined, response?: Response) => {
        if (this.operations.get(messageId) !== operation) return;
        this.operations.delete(messageId);
        this.waiting--;
        if (this.waiting === 0) this.during = 'idle association';
        if (error) reject(error);
        else resolve(response!);
      };
      const operation: Operation = {
        request,
        context,
        fail: (error) => finish(error),
        response: (response) => {
          try {
            this.lastActivity = Date.now();
            const status = response.getStatus();
            if (isPending(status)) onResponse?.(response);
            else finish(undefined, response);
          } catch (err) {
            finish(new PacsError('failed', `handling a ${what} response from PACS ${this.label} failed: ${(err as Error).message}`, { pacs: this.label, cause: err }));
          }
        },
      };
      this.operations.set(messageId, operation);
      this.waiting++;
      this.during = what;
      this.lastActivity = Date.now();
      const sent = sendDataset
        ? sendDataset(context.id, messageId)
        : writeMessage(this.socket, context.id, this.peerMaxPdu, request.encodeCommand(), request.getDataset()?.bytes);
      sent.catch((err: unknown) => {
        finish(new PacsError('failed', `sending ${what} to PACS ${this.label} failed: ${(err as Error).message}`, { pacs: this.label, cause: err }));
        this.abort();
      });
    });
  }

  /** C-STORE of a Part-10 file's dataset bytes as they are on disk. */
  storeRaw(request: Request, context: PresentationContext, file: { path: string; sopClassUid: string; sopInstanceUid: string; datasetOffset: number; size: number }): Promise<Response> {
    return this.perform(request, context, `C-STORE of ${file.path}`, undefined, (contextId, messageId) =>
      sendRawDataset({
        socket: this.socket,
        contextId,
        peerMaxPdu: this.peerMaxPdu,
        command: encodeStoreRequest({ sopClassUid: file.sopClassUid, sopInstanceUid: file.sopInstanceUid, messageId }),
        path: file.path,
        datasetOffset: file.datasetOffset,
        size: file.size,
        onProgress: () => (this.lastActivity = Date.now()),
      }),
    );
  }

  /** Sends C-CANCEL for a C-FIND, C-GET or C-MOVE in progress (PS3.7 §9.3.2.3); its final response still comes. */
  cancel(request: Request): void {
    const operation = this.operations.get(request.getMessageId());
    if (!this.isUsable || operation?.request !== request) return;
    writeMessage(this.socket, operation.context.id, this.peerMaxPdu, cancelRequest(request.getMessageId()).encodeCommand()).catch(() => undefined);
  }

  /** Something else proves the peer alive (a C-MOVE's instances arriving on another association). */
  touch(): void {
    this.lastActivity = Date.now();
  }

  pause(reason: string): void {
    this.receiver.pause(reason);
  }

  resume(reason: string): void {
    this.receiver.resume(reason);
    this.lastActivity = Date.now();
  }

  /** A-RELEASE; aborts instead when the peer does not answer in time. Never rejects. */
  async release(): Promise<void> {
    if (!this.isUsable || this.connection.state !== 'Sta6-established') {
      this.abort();
      return;
    }
    this.during = 'association release';
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.abort();
        resolve();
      }, Math.min(this.params.responseTimeoutMs, 10_000));
      this.onClosed.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.connection.requestRelease();
    });
  }

  /** A-ABORT and close, at once. */
  abort(): void {
    if (this.closed) return;
    this.connection.abort();
  }

  private fail(error: PacsError): void {
    if (this.failure) return;
    this.failure = error;
    for (const operation of [...this.operations.values()]) operation.fail(error);
    for (const listener of this.failureListeners.splice(0)) listener(error);
  }

  /** A complete message from the peer: a response to an operation in flight, or a C-STORE of a C-GET. */
  private delivered(context: PresentationContext, message: DimseMessage): void {
    this.lastActivity = Date.now();
    if (message.isResponse) {
      const operation = this.operations.get(message.getMessageIdBeingRespondedTo()!);
      if (!operation) {
        log.debug('DIMSE response to no request in flight, ignored', { pacs: this.label, messageIdBeingRespondedTo: message.getMessageIdBeingRespondedTo() });
        return;
      }
      operation.response(message);
      return;
    }
    if (message.commandField === 0x0001 && this.params.store) {
      void this.answerStore(message);
      return;
    }
    throw new Error(`unexpected DIMSE request 0x${message.commandField.toString(16)} on presentation context ${context.id}`);
  }

  private checkInactivity(): void {
    if (this.waiting === 0 || this.receiver.paused || this.failure) return;
    const idle = Date.now() - this.lastActivity;
    if (idle < this.params.responseTimeoutMs) return;
    this.fail(
      new PacsError(
        'timeout',
        `PACS ${this.label} sent nothing for ${Math.round(idle / 1000)} s during ${this.during} (dimse.responseTimeoutMs = ${this.params.responseTimeoutMs})`,
        { pacs: this.label },
      ),
    );
    this.abort();
  }

  /** The C-STORE-RSP of a C-GET sub-operation, once the instance is on disk; written directly (see command.ts). */
  private async answerStore(request: CStoreRequest): Promise<void> {
    let status = 0xc000;
    let errorComment: string | undefined;
    try {
      const decision = storeDecisionOf(request);
      if (!decision || !this.params.store) throw new Error('no decision for a received C-STORE');
      if ('failure' in decision) errorComment = decision.failure.comment;
      status = await this.params.store.stored(request, decision);
    } catch (err) {
      log.error('C-STORE sub-operation handling failed', { pacs: this.label, err });
    }
    const contextId = contextIdOf(request);
    if (!this.isUsable || contextId === undefined) return;
    const response = encodeStoreResponse({
      sopClassUid: request.getAffectedSopClassUid() ?? '',
      sopInstanceUid: request.getAffectedSopInstanceUid() ?? '',
      messageIdBeingRespondedTo: request.getMessageId(),
      status,
      ...(errorComment && status !== 0 ? { errorComment } : {}),
    });
    await writeCommand(this.socket, contextId, this.peerMaxPdu, response).catch(() => undefined);
  }
}

function cancelled(peer: Peer): PacsError {
  return new PacsError('cancelled', `cancelled before the association with PACS ${peerLabel(peer)} was established`, { pacs: peerLabel(peer) });
}
