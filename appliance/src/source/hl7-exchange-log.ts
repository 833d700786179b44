import { parseHl7Message } from '../hl7/index.js';
import { reportFromHl7 } from '../report/parse.js';

/** One MLLP exchange as the setup screen shows it: who sent what, what the box read from it, what it answered. */
export interface Hl7Exchange {
  at: string;
  remoteAddress: string;
  sender?: string;
  messageType?: string;
  controlId?: string;
  /** What the box read from the report (no report text): patient, exam. */
  read?: { patientName?: string; ins?: string; accession?: string; studyInstanceUid?: string; action?: string };
  /** Why the message could not be read, when it could not. */
  unreadable?: string;
  ack: { code: string; text?: string };
}

type MllpHandler = (raw: Buffer, meta: { remoteAddress?: string }) => Promise<Buffer>;

const KEEP = 10;
/** How long after a screen last asked the exchanges are still recorded (the RIS step's page polls every few seconds). */
export const WATCH_MS = 15 * 60_000;

/**
 * The last exchanges, in memory and bounded: enough for "waiting for a test message", nothing kept for ever. Reading
 * a message again costs a parse: it is done only while a screen is watching (asked within WATCH_MS), never on the
 * box's everyday traffic.
 */
export class Hl7ExchangeLog {
  private readonly exchanges: Hl7Exchange[] = [];
  private lastAskedMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly now: () => number = Date.now) {}

  /** The handler, observed: the ACK is whatever the intake answered, unchanged. */
  observe(handler: MllpHandler): MllpHandler {
    return async (raw, meta) => {
      const ack = await handler(raw, meta);
      if (!this.watched()) return ack;
      try {
        this.add(describe(raw, ack, meta.remoteAddress ?? '', new Date(this.now()).toISOString()));
      } catch {
        // describing is best effort: the exchange itself is done
      }
      return ack;
    };
  }

  /** The exchanges since `isoTime`; asking starts (or extends) the recording window. */
  since(isoTime: string): Hl7Exchange[] {
    this.lastAskedMs = this.now();
    return this.exchanges.filter((e) => e.at >= isoTime);
  }

  private watched(): boolean {
    return this.now() - this.lastAskedMs <= WATCH_MS;
  }

  private add(e: Hl7Exchange): void {
    this.exchanges.push(e);
    if (this.exchanges.length > KEEP) this.exchanges.shift();
  }
}

function describe(raw: Buffer, ackBytes: Buffer, remoteAddress: string, at: string): Hl7Exchange {
  const ackMessage = parseHl7Message(ackBytes);
  const msa = ackMessage.segment('MSA');
  const err = ackMessage.segment('ERR');
  const ack = { code: msa?.get(1) ?? '?', ...(msa?.get(3) || err?.get(8) ? { text: msa?.get(3) || err?.get(8) } : {}) };
  let msg;
  try {
    msg = parseHl7Message(raw);
  } catch (e) {
    return { at, remoteAddress, unreadable: (e as Error).message, ack };
  }
  const base: Hl7Exchange = {
    at,
    remoteAddress,
    sender: `${msg.header.get(3)}^${msg.header.get(4)}`,
    messageType: msg.messageType && msg.triggerEvent ? `${msg.messageType}^${msg.triggerEvent}` : msg.messageType,
    controlId: msg.controlId,
    ack,
  };
  try {
    const r = reportFromHl7(msg);
    const name = [r.patient.birthName ?? r.patient.usedName, r.patient.firstGivenName ?? r.patient.usedGivenName].filter(Boolean).join(' ');
    return {
      ...base,
      read: {
        ...(name ? { patientName: name } : {}),
        ...(r.patient.ins ? { ins: r.patient.ins.value } : {}),
        ...(r.accession ? { accession: r.accession.value } : {}),
        ...(r.studyInstanceUid ? { studyInstanceUid: r.studyInstanceUid } : {}),
        action: r.action,
      },
    };
  } catch (e) {
    return { ...base, unreadable: (e as Error).message };
  }
}
