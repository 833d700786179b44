/**
 * A queue between a push source (DIMSE responses arriving as events) and an async-iterating consumer.
 * The buffer is bounded by telling the source to pause above `highWaterMark` and resume below `lowWaterMark`
 * (the source pauses its socket: TCP carries the backpressure to the peer).
 */
export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  private items: T[] = [];
  private head = 0;
  private done = false;
  private error: unknown;
  private waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  private high = false;

  constructor(
    private readonly options: { highWaterMark: number; lowWaterMark: number; onHigh: () => void; onLow: () => void; onReturn?: () => void },
  ) {}

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    if (this.done) return;
    if (this.waiter) {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter.resolve({ value: item, done: false });
      return;
    }
    this.items.push(item);
    if (!this.high && this.length >= this.options.highWaterMark) {
      this.high = true;
      this.options.onHigh();
    }
  }

  end(): void {
    this.finish(undefined);
  }

  /** Ends with an error, after what is buffered, or at once (`discard`: a cancellation). */
  fail(error: unknown, discard = false): void {
    if (discard) {
      this.items = [];
      this.head = 0;
    }
    this.finish(error ?? new Error('failed'));
  }

  next(): Promise<IteratorResult<T>> {
    if (this.length > 0) {
      const value = this.items[this.head]!;
      this.items[this.head++] = undefined as T;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      if (this.high && this.length <= this.options.lowWaterMark) {
        this.high = false;
        this.options.onLow();
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.error !== undefined) return Promise.reject(this.error);
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    this.finish(undefined);
    this.items = [];
    this.head = 0;
    this.options.onReturn?.();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  private finish(error: unknown): void {
    if (this.done) return;
    this.done = true;
    this.error = error;
    const waiter = this.waiter;
    this.waiter = undefined;
    if (!waiter) return;
    if (error !== undefined) waiter.reject(error);
    else waiter.resolve({ value: undefined, done: true });
  }
}
