/** A health check is real work (open the database, C-ECHO the PACS), never a constant. */
export interface HealthCheck {
  name: string;
  /** Resolves with a short detail when healthy; throws with the reason when not. */
  run(): Promise<string>;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
  ms: number;
}

export interface HealthReport {
  ok: boolean;
  checkedAt: string;
  checks: CheckResult[];
}

export async function runHealthChecks(checks: HealthCheck[], timeoutMs = 5_000): Promise<HealthReport> {
  const results = await Promise.all(
    checks.map(async (c): Promise<CheckResult> => {
      const start = performance.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        const detail = await Promise.race([
          c.run(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return { name: c.name, ok: true, detail, ms: Math.round(performance.now() - start) };
      } catch (err) {
        return { name: c.name, ok: false, detail: (err as Error).message, ms: Math.round(performance.now() - start) };
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return { ok: results.every((r) => r.ok), checkedAt: new Date().toISOString(), checks: results };
}
