/** The demo's steps: each timed, printed as it starts and ends, kept for the summary. */

export interface Step {
  name: string;
  ms: number;
  ok: boolean;
  detail?: string;
}

export type StepFn = <T>(name: string, fn: () => Promise<T>, detail?: (v: T) => string) => Promise<T>;

export function stepRecorder(out: NodeJS.WritableStream = process.stderr): { step: StepFn; steps: Step[] } {
  const steps: Step[] = [];
  const step: StepFn = async (name, fn, detail) => {
    const t0 = performance.now();
    out.write(`… ${name}\n`);
    try {
      const v = await fn();
      const text = detail?.(v);
      steps.push({ name, ms: performance.now() - t0, ok: true, detail: text });
      out.write(`✓ ${name} (${Math.round(performance.now() - t0)} ms)${text !== undefined ? ` — ${text}` : ''}\n`);
      return v;
    } catch (err) {
      steps.push({ name, ms: performance.now() - t0, ok: false, detail: (err as Error).message });
      out.write(`✗ ${name}: ${(err as Error).message}\n`);
      throw err;
    }
  };
  return { step, steps };
}

/** Stops what was started, last first; one that fails to stop does not keep the others up. */
export class Cleanups {
  private readonly list: (() => Promise<unknown> | unknown)[] = [];

  add(stop: () => Promise<unknown> | unknown): void {
    this.list.push(stop);
  }

  async run(): Promise<void> {
    for (const stop of this.list.splice(0).reverse()) {
      try {
        await stop();
      } catch (err) {
        process.stderr.write(`cleanup failed (the rest still stops): ${(err as Error).message}\n`);
      }
    }
  }
}
