import type { FC } from 'hono/jsx';
import { raw } from 'hono/html';
import { STATUS } from '../strings/status.js';
import type { Csrf } from '../setup/layout.js';
import { PageHead } from '../common/page-head.js';
import type { StatusReport } from '../../appliance/src/device/status-report.js';

type Fact = string | number | boolean | null;
export type StatusView = StatusReport;
type TileView = StatusReport['tiles'][number];

const dateTime = (iso: string) => new Date(iso).toLocaleString('fr-FR', { timeZone: 'Europe/Paris', dateStyle: 'short', timeStyle: 'short' });
const megabytes = (n: number) => `${Math.round(n / 1_048_576).toLocaleString('fr-FR')} Mo`;

function factText(key: string, value: Fact): string {
  if (value === null || value === '') return '—';
  if (typeof value === 'number' && key.endsWith('Bytes')) return megabytes(value);
  if (typeof value === 'number' && key === 'uptimeSeconds') return STATUS.uptime(value);
  if (typeof value === 'number' && key.endsWith('DaysLeft') && value < 0) return STATUS.expired;
  if (typeof value === 'string' && key.endsWith('At')) return dateTime(value);
  if (typeof value === 'boolean') return value ? STATUS.yes : STATUS.no;
  if (key === 'updateState') return STATUS.update[String(value)] ?? String(value);
  return String(value);
}

/** A current manifest says where its DMP operation is; a replaced or withdrawn one says so. */
function publicationState(p: StatusReport['publications'][number]): string {
  if (p.status === 'active') return STATUS.delivery[p.delivery] ?? p.delivery;
  return STATUS.kosStatus[p.status] ?? p.status;
}

const SHOWN = new Set(Object.keys(STATUS.facts));

const TileBox: FC<{ tile: TileView }> = ({ tile }) => (
  <section class={`tuile ${tile.level}`} id={`tuile-${tile.id}`} data-niveau={tile.level} data-code={tile.code}>
    <h2>
      {STATUS.tiles[tile.id] ?? tile.id} <span class="niveau">{STATUS.levels[tile.level]}</span>
    </h2>
    <p>{STATUS.codes[tile.code] ?? tile.code}</p>
    <dl>
      {Object.entries(tile.facts)
        .filter(([k]) => SHOWN.has(k))
        .map(([k, v]) => (
          <>
            <dt>{STATUS.facts[k]}</dt>
            <dd>{factText(k, v)}</dd>
          </>
        ))}
    </dl>
  </section>
);

/** The part refreshed every few seconds by status.js. */
export const StatusTiles: FC<{ view: StatusView; csrf: Csrf }> = ({ view, csrf }) => (
  <div id="tuiles-contenu" data-a={view.at}>
    <div class="tuiles">
      {view.tiles.map((t) => (
        <TileBox tile={t} />
      ))}
    </div>
    <section class="liste" id="refus">
      <h2>{STATUS.deadLetters}</h2>
      {view.deadLetters.length === 0 ? <p>{STATUS.noDeadLetters}</p> : null}
      <ul>
        {view.deadLetters.map((d) => (
          <li class="refus" data-id={d.id}>
            <span>
              {STATUS.ops[d.op] ?? d.op} — {dateTime(d.since)} — {d.reason}
            </span>
            <form method="post" action="/status/dead-letters/retry">
              <input type="hidden" name={csrf.name} value={csrf.token} />
              <input type="hidden" name="id" value={String(d.id)} />
              <button type="submit" class="secondaire reessayer">{STATUS.retry}</button>
            </form>
          </li>
        ))}
      </ul>
      {view.deadLetters.length > 1 ? (
        <form method="post" action="/status/dead-letters/retry">
          <input type="hidden" name={csrf.name} value={csrf.token} />
          <input type="hidden" name="id" value="all" />
          <button type="submit" class="secondaire" id="tout-reessayer">{STATUS.retryAll}</button>
        </form>
      ) : null}
    </section>
    <section class="liste" id="publications">
      <h2>{STATUS.publications}</h2>
      {view.publications.length === 0 ? (
        <p>{STATUS.noPublications}</p>
      ) : (
        <div class="defile">
          <table>
            <thead>
              <tr>
                {STATUS.publicationColumns.map((c) => (
                  <th>{c}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {view.publications.map((p) => (
                <tr class="publication">
                  <td>{dateTime(p.at)}</td>
                  <td>{p.patientIns ?? '—'}</td>
                  <td class="examen">{p.accession ?? p.studyInstanceUid}</td>
                  <td>{p.instances}</td>
                  <td data-etat={p.status === 'active' ? p.delivery : p.status}>{publicationState(p)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  </div>
);

export interface StatusPageProps {
  view: StatusView;
  csrf: Csrf;
  boxName: string;
  /** What the last action did (retry, test report). */
  message?: string;
  /** The last action failed: said instead of `message`. */
  failure?: string;
  /** The "send a test report" button, when the box can send one. */
  testReport?: boolean;
}

export const StatusPage: FC<StatusPageProps> = ({ view, csrf, boxName, message, failure, testReport }) => (
  <>
    {raw('<!doctype html>')}
    <html lang="fr">
      <PageHead title={`${STATUS.title} — ${boxName}`} styles={['/setup/assets/setup.css', '/status/assets/status.css']} scripts={['/status/assets/status.js']} />
      <body>
        <header class="bandeau">
          <span class="marque">
            {boxName} · {STATUS.title}
          </span>
          <nav class="liens">
            <a href="/portal/" class="bouton secondaire">{STATUS.portal}</a>
            <a href="/setup" class="bouton secondaire" id="lien-reglages">{STATUS.setup}</a>
            <form method="post" action="/setup/verrouiller">
              <input type="hidden" name={csrf.name} value={csrf.token} />
              <button type="submit" class="secondaire" id="verrouiller">{STATUS.lock}</button>
            </form>
          </nav>
        </header>
        <main id="contenu">
          {failure ? (
            <p class="erreur" id="message-statut" role="alert">
              {failure}
            </p>
          ) : message ? (
            <p class="bon" id="message-statut" role="status">
              {message}
            </p>
          ) : null}
          <p class="hors-ligne" id="hors-ligne" hidden>
            {STATUS.unreachable}
          </p>
          <div id="tuiles" data-source="/status/tiles">
            <StatusTiles view={view} csrf={csrf} />
          </div>
          {testReport ? (
            <section class="liste" id="essai">
              <p>{STATUS.testReportHelp}</p>
              <form method="post" action="/status/test-report">
                <input type="hidden" name={csrf.name} value={csrf.token} />
                <button type="submit" class="secondaire" id="envoyer-essai">
                  {STATUS.testReport}
                </button>
              </form>
            </section>
          ) : null}
        </main>
      </body>
    </html>
  </>
);
