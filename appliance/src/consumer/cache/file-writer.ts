import { closeSync, open as fsOpen, openSync, writev as fsWritev, writevSync } from 'node:fs';
import { takeGiveBack } from '../../dicomweb/lent-chunks.js';
import type { InlineWriteGate } from '../../io/inline-write-gate.js';

function openFile(path: string, flags: string): Promise<number> {
  return new Promise((resolve, reject) => fsOpen(path, flags, 0o644, (err, fd) => (err ? reject(err) : resolve(fd))));
}

function shortWrite(path: string, written: number, bytes: number): Error {
  return new Error(`${path}: short write (${written} of ${bytes} bytes), is the disk full?`);
}

function writeAll(fd: number, path: string, buffers: Uint8Array[], bytes: number): Promise<void> {
  return new Promise((resolve, reject) =>
    fsWritev(fd, buffers, (err, written) => {
      if (err) reject(err);
      else if (written !== bytes) reject(shortWrite(path, written, bytes));
      else resolve();
    }),
  );
}

function writeAllSync(fd: number, path: string, buffers: Uint8Array[], bytes: number): void {
  const written = writevSync(fd, buffers);
  if (written !== bytes) throw shortWrite(path, written, bytes);
}

/** Received bytes not yet on disk, across instances: past this, reading the source waits for the disk. */
export const QUEUED_MAX = 8 * 1024 * 1024;

/** A bound on the bytes queued for writing; `room` waits until there is some. */
export class WriteBudget {
  private queued = 0;
  private waiters: (() => void)[] = [];

  take(bytes: number): void {
    this.queued += bytes;
  }

  give(bytes: number): void {
    this.queued -= bytes;
    if (this.queued < QUEUED_MAX) for (const w of this.waiters.splice(0)) w();
  }

  room(): Promise<void> | undefined {
    return this.queued < QUEUED_MAX ? undefined : new Promise((resolve) => this.waiters.push(resolve));
  }
}

export function giveBackAll(chunks: Uint8Array[]): void {
  for (const chunk of chunks) takeGiveBack(chunk)?.();
}

/**
 * A file written in the order given, each write inline while `gate` finds them fast, else in the background through
 * the thread pool (the source is then read on while the disk catches up, up to the budget). A write is inline only
 * once the file is open and no earlier write still waits in the pool. `flags`: 'wx' for a new file, 'w' to replace
 * one.
 */
export class FileWriter {
  private readonly fd: Promise<number>;
  /** The descriptor, once open. */
  private opened: number | undefined;
  private chain: Promise<void>;
  /** Writes handed to the thread pool and not yet done. */
  private inPool = 0;
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly path: string,
    private readonly budget: WriteBudget,
    flags: 'w' | 'wx',
    private readonly gate: InlineWriteGate,
  ) {
    if (gate.inline) {
      try {
        this.opened = gate.run(() => openSync(path, flags, 0o644));
        this.fd = Promise.resolve(this.opened);
      } catch (error) {
        this.fd = Promise.reject(error);
      }
    } else {
      this.fd = openFile(path, flags);
      this.fd.then((fd) => (this.opened = fd), () => undefined);
    }
    this.chain = this.fd.then(
      () => undefined,
      (error: unknown) => void (this.failure ??= { error }),
    );
  }

  /** The first write error, if any (the caller stops reading then). */
  check(): void {
    if (this.failure) throw this.failure.error;
  }

  /** Lent buffers (dicomweb/lent-chunks.ts) are given back once written, or failed to be. */
  write(buffers: Uint8Array[], bytes: number): void {
    const fd = this.opened;
    if (fd !== undefined && this.inPool === 0 && this.gate.inline) {
      try {
        if (!this.failure) this.gate.run(() => writeAllSync(fd, this.path, buffers, bytes), bytes);
      } catch (error) {
        this.failure ??= { error };
      } finally {
        giveBackAll(buffers);
      }
      return;
    }
    this.budget.take(bytes);
    this.inPool++;
    this.chain = this.chain
      .then(async () => {
        if (!this.failure) await writeAll(await this.fd, this.path, buffers, bytes);
      })
      .catch((error: unknown) => void (this.failure ??= { error }))
      .finally(() => {
        this.inPool--;
        giveBackAll(buffers);
        this.budget.give(bytes);
      });
  }

  /** Waits for every write, closes the file; throws the first error. */
  async close(): Promise<void> {
    await this.chain;
    const fd = await this.fd.catch(() => undefined);
    // Closing a file just written does not wait for the disk (nothing is flushed): a few µs, less than a hand-off to
    // the thread pool costs the main thread.
    if (fd !== undefined) closeSync(fd);
    this.check();
  }
}
