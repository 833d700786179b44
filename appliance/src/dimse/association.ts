import { connect, type Socket } from 'node:net';
import { log } from '../log/logger.js';
import { PacsError } from './types.js';
import { associationAborted, associationRejected, connectError, peerLabel, type Peer } from './errors.js';
import {
  Association,
  Network,
  constants,
  type CStoreRequest,
  type PDataTf,
  type PresentationContext,
  type Request,
  type Response,
} from './library.js';
import { Receiver, contextIdOf, storeDecisionOf } from './receive.js';
import { sendRawDataset, writeCommand } from './pdata.js';
import { encodeStoreRequest, encodeStoreResponse } from './command.js';
import { installPduReader } from './pdu-reader.js';
import type { StoreDecision, StoreSink } from './sink.js';

export interface ProposedContext {
  abstractSyntaxUid: string;
  transferSyntaxUids: string[];
  /** C-GET: the box proposes to be the C-STORE SCP on this context (SCP/SCU role selection, PS3.7 D.3.3.4). */
  scpRole?: boolean;
}

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

/** dcmjs-dimse's own timers are set out of the way: the box's watchdog below is the one that counts. */
const NEVER = 2 ** 31 - 1;
/** Association PDUs are small but not bounded by the P-DATA maximum: this much is always accepted. */
const MIN_PDU_LIMIT = 64 * 1024;
/** Maximum number of presentation contexts in one association (odd IDs 1-255, PS3.8 §9.3.2.2). */
export const MAX_CONTEXTS = 128;

let lastMessageId = 0;
/** Message IDs unique across the process (not only per association), so a C-MOVE's Move Originator Message ID names one retrieve. */
function nextMessageId(): number {
  lastMessageId = (lastMessageId % 0xffff) + 1;
  return lastMessageId;
}

class ScuNetwork extends Network {
  receiver: Receiver | undefined;
  override _processPDataTf(pdu: PDataTf): Promise<void> {
    this.receiver!.handle(pdu);
    return Promise.resolve();
  }
}

function isPending(status: number): boolean {
  return status === 0xff00 || status === 0xff01;
}

interface Operation {
  fail(error: PacsError): void;
}

/**
 * One association from the box to a peer: connect, negotiate, run DIMSE operations, release.
 * Every failure (socket, reject, abort, timeout, protocol) ends up as one PacsError, given to every
 * operation in flight; nothing is ever left to reject unhandled.
 */
export class ScuAssociation {
  private readonly net: ScuNetwork;
  private readonly receiver: Receiver;
  private readonly label: string;
  private failure: PacsError | undefined;
  private closed = false;
  private connected = false;
  private readonly operations = new Set<Operation>();
  private waiting = 0;
  private lastActivity = Date.now();
  private readonly watchdog: NodeJS.Timeout;
  private during = 'association negotiation';
  private onClosed: (() => void)[] = [];
  private failureListeners: ((error: PacsError) => void)[] = [];

  private constructor(
    private readonly params: AssociationParams,
    private readonly socket: Socket,
  ) {
    this.label = peerLabel(params.peer);
    // Registered before dcmjs-dimse's own listener, so the error a technician reads is this one.
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.fail(
        this.connected
          ? new PacsError('association-aborted', `connection to PACS ${this.label} lost during ${this.during}: ${err.code ?? err.message}`, { pacs: this.label, cause: err })
          : connectError(params.peer, err),
      );
    });
    socket.once('connect', () => (this.connected = true));
    this.net = new ScuNetwork(socket, { connectTimeout: NEVER, associationTimeout: NEVER, pduTimeout: NEVER });
    socket.setTimeout(0);
    installPduReader(this.net, Math.max(params.maxPduLength, MIN_PDU_LIMIT), (err) => {
      this.fail(new PacsError('association-aborted', `DICOM protocol error from PACS ${this.label} during ${this.during}: ${err.message}`, { pacs: this.label, cause: err }));
      this.abort();
    });
    this.receiver = new Receiver(this.net, {
      openStoreSink: (context, request) => {
        if (!params.store) throw new Error('C-STORE received on an association that did not propose to store');
        return params.store.openSink(context, request);
      },
      fail: (error) => this.fail(new PacsError('failed', `receiving from PACS ${this.label} failed: ${error.message}`, { pacs: this.label, cause: error })),
    });
    this.net.receiver = this.receiver;
    socket.on('data', () => (this.lastActivity = Date.now()));
    socket.on('close', () => {
      this.closed = true;
      clearInterval(this.watchdog);
      this.receiver.dispose();
      this.fail(new PacsError('association-aborted', `connection to PACS ${this.label} closed during ${this.during}`, { pacs: this.label }));
      for (const cb of this.onClosed.splice(0)) cb();
    });
    this.net.on('abort', (abort: { source: number; reason: number }) => {
      this.fail(associationAborted(params.peer, abort, this.during, params.callingAeTitle));
      socket.destroy();
    });
    this.net.on('networkError', (err: Error) => {
      this.fail(new PacsError('association-aborted', `DICOM protocol error with PACS ${this.label} during ${this.during}: ${err.message}`, { pacs: this.label, cause: err }));
      this.abort();
    });
    // Two parameters: dcmjs-dimse's emitter passes the response callback only to listeners that declare it (unused here).
    this.net.on('cStoreRequest', (request: CStoreRequest, _callback: unknown) => void this.answerStore(request));
    const period = Math.max(50, Math.min(1000, Math.floor(params.responseTimeoutMs / 4)));
    this.watchdog = setInterval(() => this.checkInactivity(), period);
    this.watchdog.unref();
  }

  /** Connects and negotiates; resolves once the PACS has accepted the association. */
  static open(params: AssociationParams): Promise<ScuAssociation> {
    const { peer } = params;
    if (params.signal?.aborted) return Promise.reject(cancelled(peer));
    return new Promise<ScuAssociation>((resolve, reject) => {
      const socket = connect({ host: peer.host, port: peer.port });
      socket.setNoDelay(true);
      const association = new ScuAssociation(params, socket);
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
      socket.once('connect', () => {
        clearTimeout(connectTimer);
        association.lastActivity = Date.now();
        association.net.sendAssociationRequest(association.buildRequest());
      });
      association.net.on('associationAccepted', () => {
        association.waiting--;
        association.during = 'idle association';
        settle(undefined);
      });
      association.net.on('associationRejected', (reject: { result: number; source: number; reason: number }) => {
        association.waiting--;
        settle(associationRejected(peer, params.callingAeTitle, reject));
      });
    });
  }

  /** The accepted context for an abstract syntax, preferring one whose transfer syntax is the one given. */
  acceptedContext(abstractSyntaxUid: string, transferSyntaxUid?: string): PresentationContext | undefined {
    let fallback: PresentationContext | undefined;
    for (const { context } of this.net.association!.getPresentationContexts()) {
      if (context.getAbstractSyntaxUid() !== abstractSyntaxUid) continue;
      if (context.getResult() !== constants.PresentationContextResult.Accept) continue;
      if (transferSyntaxUid === undefined || context.getAcceptedTransferSyntaxUid() === transferSyntaxUid) return context;
      fallback ??= context;
    }
    return transferSyntaxUid === undefined ? fallback : undefined;
  }

  /** The peer's maximum PDU length, as accepted. */
  get peerMaxPdu(): number {
    return this.net.association!.getMaxPduLength();
  }

  get isUsable(): boolean {
    return !this.failure && !this.closed;
  }

  /**
   * Runs one DIMSE request; `onResponse` sees each pending response as it arrives; resolves with the final one.
   * `sendDataset`, when given, writes the dataset itself (C-STORE of a file's raw bytes).
   */
  perform(
    request: Request,
    context: PresentationContext,
    what: string,
    onResponse?: (response: Response) => void,
    sendDataset?: (contextId: number, messageId: number) => Promise<void>,
  ): Promise<Response> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new PacsError('association-aborted', `association with PACS ${this.label} is closed`, { pacs: this.label }));
    request.setMessageId(nextMessageId());
    return new Promise<Response>((resolve, reject) => {
      const operation: Operation = { fail: (error) => finish(error) };
      const listener = (response: Response) => {
        try {
          this.lastActivity = Date.now();
          const status = response.getStatus();
          if (isPending(status)) onResponse?.(response);
          else finish(undefined, response);
        } catch (err) {
          finish(new PacsError('failed', `handling a ${what} response from PACS ${this.label} failed: ${(err as Error).message}`, { pacs: this.label, cause: err }));
        }
      };
      const finish = (error: PacsError | undefined, response?: Response) => {
        if (!this.operations.delete(operation)) return;
        this.waiting--;
        request.off('response', listener);
        const index = this.net.pending.indexOf(request);
        if (index >= 0) this.net.pending.splice(index, 1);
        if (this.waiting === 0) this.during = 'idle association';
        if (error) reject(error);
        else resolve(response!);
      };
      this.operations.add(operation);
      this.waiting++;
      this.during = what;
      this.lastActivity = Date.now();
      request.on('response', listener);
      this.net.pending.push(request);
      if (sendDataset) {
        sendDataset(context.getPresentationContextId(), request.getMessageId()).catch((err: unknown) => {
          const error = new PacsError('failed', `sending ${what} to PACS ${this.label} failed: ${(err as Error).message}`, { pacs: this.label, cause: err });
          finish(error);
          this.abort();
        });
      } else {
        this.net._sendDimse({ context, command: request });
      }
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
    if (!this.isUsable || !this.net.pending.includes(request)) return;
    (this.net as unknown as { sendCancel(r: Request): void }).sendCancel(request);
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
    if (!this.isUsable) {
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
      this.net.on('associationReleaseResponse', () => this.socket.end());
      this.net.sendAssociationReleaseRequest();
    });
  }

  /** A-ABORT and close, at once. */
  abort(): void {
    if (this.closed) return;
    if (!this.socket.destroyed && this.socket.writable && this.net.association) {
      this.net.sendAbort(constants.AbortSource.ServiceUser, constants.AbortReason.NotSpecified);
    }
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 100).unref();
  }

  private fail(error: PacsError): void {
    if (this.failure) return;
    this.failure = error;
    for (const operation of [...this.operations]) operation.fail(error);
    for (const listener of this.failureListeners.splice(0)) listener(error);
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

  private buildRequest(): Association {
    const association = new Association(this.params.callingAeTitle, this.params.peer.aeTitle);
    for (const proposed of this.params.contexts) {
      const id = association.addPresentationContext(proposed.abstractSyntaxUid);
      for (const ts of proposed.transferSyntaxUids) association.addTransferSyntaxToPresentationContext(id, ts);
      if (proposed.scpRole) {
        const context = association.getPresentationContext(id);
        context.setUserRole(false);
        context.setProviderRole(true);
      }
    }
    return association;
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
      sopClassUid: String(request.getAffectedSopClassUid() ?? ''),
      sopInstanceUid: String(request.getAffectedSopInstanceUid() ?? ''),
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
