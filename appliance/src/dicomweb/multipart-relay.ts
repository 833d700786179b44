import { Readable } from 'node:stream';
import { BlockPool } from '../io/block-pool.js';
import { lentChunk } from './lent-chunks.js';
import { DicomwebError } from './errors.js';
import { MultipartError, MultipartScanner } from './multipart-scanner.js';
import { closeDelimiter, partHeader } from './multipart-writer.js';
import { MAX_META, parsePart10Meta, type Part10Meta } from './part10-peek.js';
import type { ChunkEmitter } from './readable-chunks.js';
import type { Served } from './response.js';

/**
 * The PACS's multipart answers relayed as one multipart response of ours, as Node streams: bytes flow from the PACS
 * socket to the client socket without a promise per chunk, which is what keeps a Pi-class CPU near a plain relay.
 * Each part is still checked — a DICOM Part-10 file, kept or dropped by `keep` on its file meta (the caller's
 * coverage) — and sent under our boundary with its headers reduced to Content-Type (transfer syntax from the file
 * meta, never from the PACS's part headers) and the PACS's Content-Length, which the scanner holds the part to. Used
 * only when every part may go as stored (no conversion): the caller accepts any transfer syntax.
 * Backpressure: the PACS socket is paused while our buffer is full. A PACS silent for `idleTimeoutMs` while we wait
 * for it (not while the client is slow) fails the response with 504.
 * A source that can hold its chunks (http1-transient-get.ts reads into pooled blocks) has its part bodies queued as
 * they were read, each held until the client's socket has taken it. Our part headers, and everything from a source
 * that cannot hold (its chunk is valid during its 'data' event only: it may reuse its read buffer), are copied into
 * pooled blocks, several pieces to a block. Either way a chunk goes back once the client's socket has taken it
 * (lent-chunks.ts; a consumer that does not give it back leaves it to the collector).
 */

/** Blocks of what our answers copy (part headers; a source that cannot hold): 512 KiB, up to 4 MiB kept free. */
export const relayBlocks = new BlockPool(512 * 1024, 8);

/** A source's body: a Node Readable, or a body read into pooled blocks (http1-transient-get.ts). */
export interface RelayBody extends ChunkEmitter {
  /** Keeps the chunk of the current 'data' event valid until the release returned is called; absent: it is not kept. */
  hold?(): () => void;
}

export interface RelaySource {
  /** The PACS's answer body (multipart/related) and its boundary; a chunk is read only during its 'data' event. */
  body: RelayBody;
  boundary: string;
  /** Whether an instance of this answer goes to the client (absent: all). */
  keep?(meta: Part10Meta): boolean;
  /** How long the PACS may stay silent while we wait for it. */
  idleTimeoutMs: number;
}

export interface MultipartRelayOptions {
  /** The answers to relay, in turn (a study narrowed to several series is several answers). */
  sources: AsyncIterator<RelaySource, void>;
  /** Our boundary. */
  boundary: string;
  /** Filled as parts go out, for the audit trail. */
  served: Served;
  /** Where our answer's bytes are copied (default relayBlocks). */
  pool?: BlockPool;
}

type PartState = { kind: 'meta'; head: Buffer[]; length: number; contentLength: number | undefined } | { kind: 'send' } | { kind: 'drop' };

export class MultipartRelay extends Readable {
  /** The file meta of the first part sent, once known; undefined when the answers hold no part to send. */
  readonly firstPart: Promise<Part10Meta | undefined>;
  private resolveFirst!: (meta: Part10Meta | undefined) => void;
  private rejectFirst!: (err: unknown) => void;
  private firstKnown = false;
  private readonly options: MultipartRelayOptions;
  private current: RelaySource | undefined;
  private scanner: MultipartScanner | undefined;
  private part: PartState = { kind: 'drop' };
  private partsSent = 0;
  private sourcePaused = false;
  private lastInputAt = performance.now();
  private readonly idleCheck: NodeJS.Timeout;
  private readonly pool: BlockPool;
  /** The block being filled, and how much of it is. */
  private block: Buffer | undefined;
  private filled = 0;

  constructor(options: MultipartRelayOptions) {
    // Chunks are reads held or blocks, 512 KiB at most: up to 4 of them wait for the client before the PACS is paused.
    super({ objectMode: true, highWaterMark: 4 });
    this.options = options;
    this.pool = options.pool ?? relayBlocks;
    this.firstPart = new Promise((resolve, reject) => {
      this.resolveFirst = resolve;
      this.rejectFirst = reject;
    });
    // A failure before anyone reads or pipes us rejects `firstPart`; it must not also be an unhandled 'error'.
    this.firstPart.catch(() => undefined);
    this.on('error', () => undefined);
    this.idleCheck = setInterval(() => this.checkIdle(), 1000);
    this.idleCheck.unref();
    void this.nextSource();
  }

  override _read(): void {
    if (this.sourcePaused && this.current) {
      this.sourcePaused = false;
      this.lastInputAt = performance.now();
      this.current.body.resume();
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearInterval(this.idleCheck);
    if (this.block) this.pool.give(this.block, this.filled);
    this.block = undefined;
    this.current?.body.destroy();
    this.current = undefined;
    this.settleFirst(undefined, error ?? new DicomwebError(502, 'the relay was closed before its first part'));
    this.options.sources.return?.().then(
      () => callback(error),
      () => callback(error),
    );
  }

  private async nextSource(): Promise<void> {
    let next: IteratorResult<RelaySource, void>;
    try {
      next = await this.options.sources.next();
    } catch (err) {
      this.fail(err);
      return;
    }
    if (this.destroyed) {
      if (!next.done) next.value.body.destroy();
      return;
    }
    if (next.done) {
      this.out(closeDelimiter(this.options.boundary, this.partsSent === 0));
      this.flush();
      this.push(null);
      this.settleFirst(undefined);
      clearInterval(this.idleCheck);
      return;
    }
    this.attach(next.value);
  }

  private attach(source: RelaySource): void {
    this.current = source;
    this.lastInputAt = performance.now();
    this.scanner = new MultipartScanner(source.boundary, {
      // The PACS's Content-Length of a part is passed on: the scanner counts the part against it and fails the answer
      // if it lies, and a client that knows each part's length need not search its bytes for our boundary.
      partStart: (_headers, contentLength) => (this.part = { kind: 'meta', head: [], length: 0, contentLength }),
      partData: (bytes) => this.partData(bytes),
      partEnd: () => this.partEnd(),
    });
    source.body.on('data', (chunk: Buffer) => this.input(source, chunk));
    source.body.once('end', () => this.sourceEnded(source));
    source.body.once('error', (err) => this.fail(err));
    source.body.once('close', () => {
      if (source === this.current) this.fail(new DicomwebError(502, 'the PACS connection closed before the end of its answer'));
    });
    source.body.resume();
  }

  private input(source: RelaySource, chunk: Buffer): void {
    if (source !== this.current) return;
    this.lastInputAt = performance.now();
    try {
      this.scanner!.write(chunk);
    } catch (err) {
      this.fail(err);
      return;
    }
    this.flush();
    if (this.readableLength >= this.readableHighWaterMark && !this.sourcePaused && this.current === source) {
      this.sourcePaused = true;
      source.body.pause();
    }
  }

  private sourceEnded(source: RelaySource): void {
    if (source !== this.current) return;
    try {
      this.scanner!.end();
    } catch (err) {
      this.fail(err);
      return;
    }
    this.current = undefined;
    void this.nextSource();
  }

  private partData(bytes: Buffer): void {
    const part = this.part;
    if (part.kind === 'send') {
      this.send(bytes);
      return;
    }
    if (part.kind === 'drop') return;
    part.length += bytes.length;
    // A file meta split across reads is parsed from a join of its pieces and what it can still need of this one
    // (not the whole read: 66 of 1,300 parts relayed from Orthanc began at the end of a read).
    const head = part.head.length === 0 ? bytes : Buffer.concat([...part.head, bytes.subarray(0, MAX_META)]);
    const parsed = parsePart10Meta(head);
    if (parsed === 'need-more') {
      if (part.length > MAX_META) throw new DicomwebError(502, `the PACS sent a part whose file meta is longer than ${MAX_META} bytes`);
      part.head.push(Buffer.from(bytes));
      return;
    }
    if (parsed === 'invalid') throw new DicomwebError(502, 'the PACS sent a part that is not a DICOM file');
    const { meta } = parsed;
    if (this.current?.keep && !this.current.keep(meta)) {
      this.part = { kind: 'drop' };
      return;
    }
    this.out(partHeader({ contentType: `application/dicom; transfer-syntax=${meta.transferSyntaxUid}`, contentLength: part.contentLength }, this.options.boundary, this.partsSent === 0));
    this.partsSent++;
    for (const piece of part.head) this.out(piece);
    this.part = { kind: 'send' };
    this.send(bytes);
    this.settleFirst(meta);
  }

  private partEnd(): void {
    if (this.part.kind === 'meta') throw new DicomwebError(502, 'the PACS sent a part that ends inside its DICOM file meta');
    if (this.part.kind === 'send') this.options.served.instances++;
    this.part = { kind: 'drop' };
  }

  /** Part body bytes, queued as they are if the source holds them, else copied. */
  private send(bytes: Buffer): void {
    const hold = this.current?.body.hold;
    if (!hold) return this.out(bytes);
    this.flush();
    this.push(lentChunk(bytes, hold.call(this.current!.body)));
  }

  /** Copies `bytes` into our blocks; a full block is pushed. */
  private out(bytes: Buffer): void {
    for (let from = 0; from < bytes.length; ) {
      this.block ??= this.pool.take();
      const copied = bytes.copy(this.block, this.filled, from);
      this.filled += copied;
      from += copied;
      if (this.filled === this.block.length) this.flush();
    }
  }

  /** Pushes the block being filled, lent: it goes back to the pool once the client's socket has taken it. */
  private flush(): void {
    const block = this.block;
    if (!block || this.filled === 0) return;
    const chunk = block.subarray(0, this.filled);
    this.block = undefined;
    this.filled = 0;
    let given = false;
    this.push(
      lentChunk(chunk, () => {
        if (given) return;
        given = true;
        this.pool.give(block, chunk.length);
      }),
    );
  }

  private checkIdle(): void {
    if (this.current && !this.sourcePaused && performance.now() - this.lastInputAt > this.current.idleTimeoutMs) {
      this.fail(new DicomwebError(504, 'the PACS stopped sending'));
    }
  }

  private settleFirst(meta: Part10Meta | undefined, error?: unknown): void {
    if (this.firstKnown) return;
    this.firstKnown = true;
    if (error) this.rejectFirst(error);
    else this.resolveFirst(meta);
  }

  private fail(err: unknown): void {
    if (this.destroyed) return;
    const error =
      err instanceof DicomwebError
        ? err
        : err instanceof MultipartError
          ? new DicomwebError(502, 'the PACS sent a malformed multipart answer', { cause: err })
          : new DicomwebError(502, 'the PACS connection broke', { cause: err });
    this.settleFirst(undefined, error);
    this.destroy(error);
  }
}
