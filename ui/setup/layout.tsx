import type { Child, FC } from 'hono/jsx';
import { SETUP } from '../strings/setup.js';

export interface Csrf {
  name: string;
  token: string;
}

/** The hidden form token every POST carries. */
export const CsrfField: FC<{ csrf: Csrf }> = ({ csrf }) => <input type="hidden" name={csrf.name} value={csrf.token} />;

/** One screen of the touch screen: no CDN, no inline script or style; the on-screen keyboard comes with it. */
export const SetupLayout: FC<{ title: string; counter?: string; children?: Child }> = ({ title, counter, children }) => (
  <html lang="fr">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>{`${title} — ${SETUP.appName}`}</title>
      <link rel="stylesheet" href="/setup/assets/clavier.css" />
      <link rel="stylesheet" href="/setup/assets/setup.css" />
      <script src="/setup/assets/clavier.js" defer></script>
      <script src="/setup/assets/setup.js" defer></script>
    </head>
    <body>
      <header class="bandeau">
        <span class="marque">
          {SETUP.appName} · {SETUP.title}
        </span>
        {counter ? (
          <span class="compteur" id="compteur">
            {counter}
          </span>
        ) : null}
      </header>
      <main id="contenu">
        <h1>{title}</h1>
        {children}
      </main>
    </body>
  </html>
);
