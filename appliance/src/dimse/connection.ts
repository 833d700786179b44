import type { Socket } from 'node:net';
import { PduReader } from './pdu-reader.js';
import { AbortReason, AbortSource, PduType } from './pdu/constants.js';
import { PduError } from './pdu/cursor.js';
import {
  decodeAssociateAc,
  decodeAssociateRj,
  decodeAssociateRq,
  encodeAssociateAc,
  encodeAssociateRj,
  encodeAssociateRq,
  type AssociateAc,
  type AssociateRj,
  type AssociateRq,
} from './pdu/associate.js';
import { decodeAbort, encodeAbort, encodeReleaseRp, encodeReleaseRq, type Abort } from './pdu/release-abort.js';
import { decodePDataTf, type Pdv } from './pdu/pdata-tf.js';

/**
 * States of the DICOM Upper Layer state machine (PS3.8 §9.2, Table 9-10), those the box goes through.
 * Sta1 (idle) and Sta4 (awaiting transport) are the socket's business.
 */
export type UpperLayerState =
  | 'Sta2-awaiting-rq'
  | 'Sta3-awaiting-local-response'
  | 'Sta5-awaiting-ac'
  | 'Sta6-established'
  | 'Sta7-awaiting-release-rp'
  | 'Sta8-awaiting-local-release-response'
  | 'Sta13-awaiting-close'
  | 'closed';

export interface ConnectionEvents {
  /** Acceptor: an A-ASSOCIATE-RQ; answer with accept() or reject(). */
  associateRequest?(rq: AssociateRq): void;
  /** Requestor: the A-ASSOCIATE-AC. */
  accepted?(ac: AssociateAc): void;
  /** Requestor: the A-ASSOCIATE-RJ; the connection closes. */
  rejected?(rj: AssociateRj): void;
  /** The PDVs of a P-DATA-TF, synchronously, in order. A throw is a protocol error: the association is aborted. */
  pdata(pdvs: Pdv[]): void;
  /** The peer asks to release; answer with answerRelease() (an association without this handler answers at once). */
  releaseRequested?(): void;
  /** The peer answered the box's A-RELEASE-RQ; the connection closes. */
  released?(): void;
  /** The peer sent A-ABORT; the connection closes. */
  aborted(abort: Abort): void;
  /** A malformed or unexpected PDU (or a throw from a handler): the box has sent A-ABORT and closes the connection. */
  protocolError(error: Error): void;
}

/** How long a connection waits for the peer to close after the last PDU of an association (the ARTIM timer, PS3.8 §9.1.5). */
const ARTIM_MS = 5_000;

/**
 * One DICOM Upper Layer connection, either role: cuts the byte stream into PDUs, decodes them, checks each against
 * the state (an unexpected PDU is answered with A-ABORT, PS3.8 Table 9-10 AA-1/AA-8), and writes the association
 * PDUs. P-DATA is written by pdata.ts straight to `socket` while `canSendData`.
 */
export class DicomConnection {
  private current: UpperLayerState;
  private readonly reader: PduReader;
  private failed = false;
  private artim: NodeJS.Timeout | undefined;
  /** Release collision as acceptor (Sta10): the box answers once the peer has answered. */
  private collision = false;

  constructor(
    readonly socket: Socket,
    readonly role: 'requestor' | 'acceptor',
    /** Longest PDU the box reads (its advertised maximum, at least enough for association PDUs). */
    maxReceiveLength: number,
    private readonly events: ConnectionEvents,
  ) {
    this.current = role === 'acceptor' ? 'Sta2-awaiting-rq' : 'Sta5-awaiting-ac';
    this.reader = new PduReader(maxReceiveLength, (pdu) => this.received(pdu));
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('close', () => {
      this.current = 'closed';
      clearTimeout(this.artim);
    });
  }

  /**
   * Bytes from the peer: the socket's 'data', or, for a socket reading into a buffer of its own (`onread`), a view
   * of that buffer: nothing here keeps a PDU past its handling (see PduReader).
   */
  receive(chunk: Buffer): void {
    if (this.failed || this.current === 'closed') return;
    try {
      this.reader.push(chunk);
    } catch (err) {
      this.protocolFailure(err instanceof Error ? err : new Error(String(err)));
    }
  }

  get state(): UpperLayerState {
    return this.current;
  }

  /** P-DATA may be sent: the association is established, or the peer's release is not answered yet (PS3.8 Sta8). */
  get canSendData(): boolean {
    return (this.current === 'Sta6-established' || this.current === 'Sta8-awaiting-local-release-response') && this.writable;
  }

  get established(): boolean {
    return this.current === 'Sta6-established' || this.current === 'Sta7-awaiting-release-rp' || this.current === 'Sta8-awaiting-local-release-response';
  }

  requestAssociation(rq: AssociateRq): void {
    this.expect('requestor', ['Sta5-awaiting-ac'], 'A-ASSOCIATE-RQ');
    this.write(encodeAssociateRq(rq));
  }

  accept(ac: AssociateAc): void {
    this.expect('acceptor', ['Sta3-awaiting-local-response'], 'A-ASSOCIATE-AC');
    this.write(encodeAssociateAc(ac));
    this.current = 'Sta6-established';
  }

  /** A-ASSOCIATE-RJ, then the connection closes (PS3.8 AE-8: the requestor closes, the ARTIM timer covers it not doing so). */
  reject(rj: AssociateRj): void {
    this.expect('acceptor', ['Sta3-awaiting-local-response'], 'A-ASSOCIATE-RJ');
    this.write(encodeAssociateRj(rj));
    this.awaitClose();
    this.socket.end();
  }

  requestRelease(): void {
    if (this.current !== 'Sta6-established') throw new Error(`A-RELEASE-RQ cannot be sent in state ${this.current}`);
    this.write(encodeReleaseRq());
    this.current = 'Sta7-awaiting-release-rp';
  }

  answerRelease(): void {
    if (this.current !== 'Sta8-awaiting-local-release-response') throw new Error(`A-RELEASE-RP cannot be sent in state ${this.current}`);
    this.write(encodeReleaseRp());
    this.awaitClose();
  }

  /** A-ABORT when an association exists or is being negotiated, then the connection closes. Never throws. */
  abort(abort: Abort = { source: AbortSource.ServiceUser, reason: AbortReason.NotSpecified }): void {
    if (this.current === 'closed') return;
    // In Sta2 too: an unrecognised first PDU is answered with A-ABORT (PS3.8 Table 9-10, AA-1).
    if (this.current !== 'Sta13-awaiting-close' && this.writable) this.write(encodeAbort(abort));
    this.current = 'Sta13-awaiting-close';
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 100).unref();
  }

  private get writable(): boolean {
    return !this.socket.destroyed && this.socket.writable;
  }

  private write(pdu: Buffer): void {
    if (this.writable) this.socket.write(pdu);
  }

  private expect(role: 'requestor' | 'acceptor', states: UpperLayerState[], what: string): void {
    if (this.role !== role || !states.includes(this.current)) throw new Error(`${what} cannot be sent by the ${this.role} in state ${this.current}`);
  }

  private awaitClose(): void {
    this.current = 'Sta13-awaiting-close';
    clearTimeout(this.artim);
    this.artim = setTimeout(() => this.socket.destroy(), ARTIM_MS);
    this.artim.unref();
  }

  private received(pdu: Buffer): void {
    const type = pdu[0]!;
    const state = this.current;
    if (state === 'Sta13-awaiting-close' || state === 'closed') return; // AA-6: ignored
    if (type === PduType.Abort) {
      const abort = decodeAbort(pdu);
      this.current = 'closed';
      this.socket.destroy();
      this.events.aborted(abort);
      return;
    }
    switch (`${state} ${type}`) {
      case `Sta2-awaiting-rq ${PduType.AssociateRq}`:
        this.current = 'Sta3-awaiting-local-response';
        this.events.associateRequest?.(decodeAssociateRq(pdu));
        return;
      case `Sta5-awaiting-ac ${PduType.AssociateAc}`: {
        const ac = decodeAssociateAc(pdu);
        this.current = 'Sta6-established';
        this.events.accepted?.(ac);
        return;
      }
      case `Sta5-awaiting-ac ${PduType.AssociateRj}`: {
        const rj = decodeAssociateRj(pdu);
        this.current = 'closed';
        this.socket.end();
        this.events.rejected?.(rj);
        return;
      }
      case `Sta6-established ${PduType.PDataTf}`:
      case `Sta7-awaiting-release-rp ${PduType.PDataTf}`:
        this.events.pdata(decodePDataTf(pdu));
        return;
      case `Sta6-established ${PduType.ReleaseRq}`:
        this.current = 'Sta8-awaiting-local-release-response';
        if (this.events.releaseRequested) this.events.releaseRequested();
        else this.answerRelease();
        return;
      case `Sta7-awaiting-release-rp ${PduType.ReleaseRq}`:
        // Release collision (PS3.8 §9.2.1, Sta9-Sta12): the requestor answers first, the acceptor after the requestor's answer.
        if (this.role === 'requestor') this.write(encodeReleaseRp());
        else this.collision = true;
        return;
      case `Sta7-awaiting-release-rp ${PduType.ReleaseRp}`:
        if (this.collision) {
          this.write(encodeReleaseRp());
          this.awaitClose();
        } else {
          this.current = 'closed';
          this.socket.end();
        }
        this.events.released?.();
        return;
      default:
        throw new PduError(`unexpected ${pduName(type)} in state ${state}`, AbortReason.UnexpectedPdu);
    }
  }

  private protocolFailure(error: Error): void {
    this.failed = true;
    const reason = error instanceof PduError ? error.reason : AbortReason.NotSpecified;
    this.abort({ source: error instanceof PduError ? AbortSource.ServiceProvider : AbortSource.ServiceUser, reason });
    this.events.protocolError(error);
  }
}

function pduName(type: number): string {
  return (
    { 1: 'A-ASSOCIATE-RQ', 2: 'A-ASSOCIATE-AC', 3: 'A-ASSOCIATE-RJ', 4: 'P-DATA-TF', 5: 'A-RELEASE-RQ', 6: 'A-RELEASE-RP', 7: 'A-ABORT' }[type] ??
    `PDU type 0x${type.toString(16)}`
  );
}
