import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { ReceivedInstance } from './types.js';
import { encodeFileMeta, type FileMeta } from './part10.js';
import { instancePath } from './uid.js';

/** What became of a received C-STORE dataset: a file on disk, or a DIMSE failure to answer with. */
export type StoreDecision = { instance: ReceivedInstance } | { failure: { status: number; comment: string } };

/** Where the dataset bytes of one incoming C-STORE go, as they arrive. */
export interface StoreSink {
  /**
   * false: buffered past the high-water mark, the caller pauses the socket until drained() resolves. `chunk` may be
   * a view of the socket's read buffer, valid only during the call: a sink copies what it keeps.
   */
  write(chunk: Buffer): boolean;
  drained(): Promise<void>;
  end(): Promise<StoreDecision>;
  /** The association died mid-instance: drop what was written. */
  destroy(): void;
}

/**
 * Writes an instance as a Part-10 file: the File Meta Information the box builds from the C-STORE command,
 * then the dataset bytes exactly as the peer sent them (never parsed, never re-encoded, never held whole).
 * Written to a temporary name in the same folder, renamed to `<SOP Instance UID>.dcm` once complete.
 *
 * The writes are synchronous on purpose: the PACS sends its next instance only after this one's C-STORE-RSP,
 * so every thread-pool round trip (open, each write, close, rename) is on the critical path. Measured on a
 * 1,300-instance C-GET: 4.5 s with fs streams, 2.5 s with these page-cache writes (getscu: 2.1 s).
 */
export class FileSink implements StoreSink {
  private fd: number | undefined;
  private readonly tempPath: string;
  private readonly finalPath: string;
  private error: NodeJS.ErrnoException | undefined;
  private bytes = 0;

  constructor(
    private readonly meta: FileMeta,
    dir: string,
  ) {
    this.finalPath = instancePath(dir, meta.sopInstanceUid);
    this.tempPath = join(dirname(this.finalPath), `.${meta.sopInstanceUid}.${randomBytes(4).toString('hex')}.part`);
    try {
      this.fd = openSync(this.tempPath, 'wx');
    } catch (err) {
      this.error = err as NodeJS.ErrnoException;
    }
    this.write(encodeFileMeta(meta));
  }

  write(chunk: Buffer): boolean {
    if (this.fd === undefined) return true;
    try {
      let written = 0;
      while (written < chunk.length) written += writeSync(this.fd, chunk, written);
      this.bytes += chunk.length;
    } catch (err) {
      this.error = err as NodeJS.ErrnoException;
      this.discard();
    }
    return true;
  }

  drained(): Promise<void> {
    return Promise.resolve();
  }

  end(): Promise<StoreDecision> {
    try {
      if (this.error) throw this.error;
      closeSync(this.fd!);
      this.fd = undefined;
      renameSync(this.tempPath, this.finalPath);
    } catch (err) {
      this.error ??= err as NodeJS.ErrnoException;
      this.discard();
      // 0xA700: Refused, out of resources (PS3.4 B.2.3), the status that tells the sender to retry later.
      const reason = this.error.code ?? this.error.message;
      return Promise.resolve({ failure: { status: 0xa700, comment: `cannot write instance to ${dirname(this.finalPath)}: ${reason}` } });
    }
    const { sopClassUid, sopInstanceUid, transferSyntaxUid } = this.meta;
    return Promise.resolve({ instance: { sopClassUid, sopInstanceUid, transferSyntaxUid, path: this.finalPath, bytes: this.bytes } });
  }

  destroy(): void {
    this.discard();
  }

  private discard(): void {
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        // already unusable
      }
      this.fd = undefined;
    }
    rmSync(this.tempPath, { force: true });
  }
}

/** Swallows the dataset of an instance the box refuses (invalid UID, no destination) and answers with a failure. */
export class DiscardSink implements StoreSink {
  constructor(private readonly failure: { status: number; comment: string }) {}
  write(): boolean {
    return true;
  }
  drained(): Promise<void> {
    return Promise.resolve();
  }
  end(): Promise<StoreDecision> {
    return Promise.resolve({ failure: this.failure });
  }
  destroy(): void {}
}
