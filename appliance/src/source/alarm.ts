/** A sleep that new work can cut short: background loops wait on it between rounds. */
export class Alarm {
  private ring: (() => void) | undefined;

  /** Resolves after `ms`, or as soon as `wake()` is called. */
  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.ring?.(), ms);
      this.ring = () => {
        clearTimeout(timer);
        this.ring = undefined;
        resolve();
      };
    });
  }

  wake(): void {
    this.ring?.();
  }
}
