import type { Socket } from 'node:net';
import { closeFd, openFd, readAt } from './fd.js';

/** PS3.8 §9.3.5: P-DATA-TF is PDU type 04H; each PDV item carries a presentation context ID and a control header. */
const P_DATA_TF = 0x04;
const COMMAND = 0x01;
const LAST = 0x02;
/** Ceiling on the PDUs the box writes, whatever the peer accepts (0 means unlimited, PS3.8 D.1). */
const MAX_SEND_PDU = 1 << 20;
/** File reads for a C-STORE: peers often accept only 16 KiB PDUs, one read per PDU would cost a thread-pool hop each. */
const READ_BLOCK = 1 << 20;

function pduHeader(contextId: number, control: number, valueLength: number): Buffer {
  const header = Buffer.allocUnsafe(12);
  header.writeUInt8(P_DATA_TF, 0);
  header.writeUInt8(0, 1);
  header.writeUInt32BE(valueLength + 6, 2);
  header.writeUInt32BE(valueLength + 2, 6);
  header.writeUInt8(contextId, 10);
  header.writeUInt8(control, 11);
  return header;
}

function maxValue(peerMaxPdu: number): number {
  return (peerMaxPdu > 0 ? Math.min(peerMaxPdu, MAX_SEND_PDU) : MAX_SEND_PDU) - 6;
}

/** Writes buffers as one batch; resolves at once when the socket took them, else when it drains. */
function writeAll(socket: Socket, parts: Buffer[]): Promise<void> {
  socket.cork();
  let flowing = true;
  for (const part of parts) flowing = socket.write(part) && flowing;
  socket.uncork();
  if (flowing) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      socket.off('drain', onDrain);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new Error('connection closed while sending'));
    socket.on('drain', onDrain);
    socket.on('close', onClose);
  });
}

/** PDUs carrying `value` as PDVs of one kind (command or dataset), the last one flagged. */
function pdus(contextId: number, value: Buffer, max: number, command: boolean, endsMessage: boolean): Buffer[] {
  const parts: Buffer[] = [];
  for (let at = 0; at < value.length; at += max) {
    const piece = value.subarray(at, at + max);
    const last = endsMessage && at + max >= value.length;
    parts.push(pduHeader(contextId, (command ? COMMAND : 0) | (last ? LAST : 0), piece.length), piece);
  }
  return parts;
}

/** Sends a DIMSE command with no dataset (a C-STORE-RSP) straight to the socket. */
export function writeCommand(socket: Socket, contextId: number, peerMaxPdu: number, command: Buffer): Promise<void> {
  return writeAll(socket, pdus(contextId, command, maxValue(peerMaxPdu), true, true));
}

export interface RawSend {
  socket: Socket;
  contextId: number;
  /** The peer's maximum PDU length from the A-ASSOCIATE-AC (0: unlimited). */
  peerMaxPdu: number;
  command: Buffer;
  path: string;
  datasetOffset: number;
  size: number;
  /** Called after each block is handed to the socket: the peer is receiving, the inactivity timer restarts. */
  onProgress: () => void;
}

/**
 * Sends one C-STORE whose dataset goes out as the file's own bytes (no parse, no re-encoding):
 * the command, then the dataset in PDVs the size the peer accepts, waiting for the socket to drain.
 */
export async function sendRawDataset(send: RawSend): Promise<void> {
  const max = maxValue(send.peerMaxPdu);
  await writeAll(send.socket, pdus(send.contextId, send.command, max, true, true));
  const fd = await openFd(send.path, 'r');
  try {
    let position = send.datasetOffset;
    while (position < send.size) {
      const length = Math.min(READ_BLOCK, send.size - position);
      const block = Buffer.allocUnsafe(length);
      if ((await readAt(fd, block, length, position)) !== length) throw new Error(`${send.path} changed while it was being sent`);
      position += length;
      await writeAll(send.socket, pdus(send.contextId, block, max, false, position >= send.size));
      send.onProgress();
    }
  } finally {
    await closeFd(fd);
  }
}

/** Sends one DIMSE message whose dataset, if any, is already encoded: the command, then the dataset, as one batch. */
export function writeMessage(socket: Socket, contextId: number, peerMaxPdu: number, command: Buffer, dataset?: Buffer): Promise<void> {
  const max = maxValue(peerMaxPdu);
  const parts = pdus(contextId, command, max, true, true);
  if (dataset) parts.push(...(dataset.length ? pdus(contextId, dataset, max, false, true) : [pduHeader(contextId, LAST, 0)]));
  return writeAll(socket, parts);
}
