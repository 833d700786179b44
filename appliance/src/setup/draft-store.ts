import type { Db } from '../store/database.js';

export type StepAnswers = Record<string, string>;

export interface DraftStep {
  answers: StepAnswers;
  /** The last live test of the step (its outcome as the probe returned it), shown again on the summary. */
  testOutcome?: unknown;
  updatedAt: string;
}

/** The wizard's answers in SQLite, one row per step: resumable after a power cut, cleared once applied. */
export class SetupDraft {
  constructor(private readonly db: Db) {}

  get(step: string): DraftStep | undefined {
    const row = this.db.prepare('SELECT answers, test_outcome, updated_at FROM setup_draft WHERE step = ?').get(step) as
      | { answers: string; test_outcome: string | null; updated_at: string }
      | undefined;
    if (!row) return undefined;
    return { answers: JSON.parse(row.answers) as StepAnswers, ...(row.test_outcome ? { testOutcome: JSON.parse(row.test_outcome) as unknown } : {}), updatedAt: row.updated_at };
  }

  answers(step: string): StepAnswers {
    return this.get(step)?.answers ?? {};
  }

  saveAnswers(step: string, answers: StepAnswers): void {
    this.db
      .prepare(
        `INSERT INTO setup_draft (step, answers, updated_at) VALUES (?, ?, ?)
         ON CONFLICT(step) DO UPDATE SET answers = excluded.answers, updated_at = excluded.updated_at`,
      )
      .run(step, JSON.stringify(answers), new Date().toISOString());
  }

  saveTestOutcome(step: string, outcome: unknown): void {
    this.db
      .prepare(
        `INSERT INTO setup_draft (step, answers, test_outcome, updated_at) VALUES (?, '{}', ?, ?)
         ON CONFLICT(step) DO UPDATE SET test_outcome = excluded.test_outcome, updated_at = excluded.updated_at`,
      )
      .run(step, JSON.stringify(outcome), new Date().toISOString());
  }

  /** Steps with saved answers, for "resume where you stopped". */
  savedSteps(): string[] {
    return (this.db.prepare(`SELECT step FROM setup_draft WHERE answers <> '{}'`).all() as { step: string }[]).map((r) => r.step);
  }

  clear(): void {
    this.db.prepare('DELETE FROM setup_draft').run();
  }
}
