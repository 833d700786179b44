import type { FC } from 'hono/jsx';
import { SETUP } from '../strings/setup.js';
import { PROBES } from '../strings/probes.js';

export interface ShownOutcome {
  ok: boolean;
  reason?: string;
  detail?: string;
  warnings?: { reason: string; detail: string }[];
}

export function isOutcome(value: unknown): value is ShownOutcome {
  return !!value && typeof value === 'object' && typeof (value as { ok?: unknown }).ok === 'boolean';
}

/** A live test's result: the French reason first, the technical detail behind a toggle. */
export const Outcome: FC<{ id: string; label?: string; outcome: unknown; okText?: string }> = ({ id, label, outcome, okText }) => {
  if (!isOutcome(outcome)) return <p class="resultat inconnu" id={id}>{SETUP.notTested}</p>;
  const reason = outcome.reason ? (PROBES[outcome.reason] ?? outcome.reason) : '';
  return (
    <div class={`resultat ${outcome.ok ? 'reussi' : 'echec'}`} id={id} data-ok={String(outcome.ok)} data-raison={outcome.reason ?? ''}>
      <p class="verdict">
        {label ? <strong>{label} : </strong> : null}
        {outcome.ok ? (okText ?? SETUP.testOk) : `${SETUP.testFailed} — ${reason}`}
      </p>
      {(outcome.warnings ?? []).map((w) => (
        <p class="avertissement" data-raison={w.reason}>
          {PROBES[w.reason] ?? w.reason}
        </p>
      ))}
      {outcome.detail ? (
        <details>
          <summary>{SETUP.details}</summary>
          <pre>{outcome.detail}</pre>
        </details>
      ) : null}
    </div>
  );
};
