import type { Child, FC } from 'hono/jsx';
import { SETUP } from '../strings/setup.js';
import { PageHead } from '../common/page-head.js';

export interface Csrf {
  name: string;
  token: string;
}

/** The hidden form token every POST carries. */
export const CsrfField: FC<{ csrf: Csrf }> = ({ csrf }) => <input type="hidden" name={csrf.name} value={csrf.token} />;

/**
 * One screen of the touch screen: no CDN, no inline style, no inline script but the restart wait's (other-pages.tsx);
 * the on-screen keyboard comes with it.
 */
export const SetupLayout: FC<{ title: string; counter?: string; children?: Child }> = ({ title, counter, children }) => (
  <html lang="fr">
    <PageHead title={`${title} — ${SETUP.appName}`} styles={['/setup/assets/clavier.css', '/setup/assets/setup.css']} scripts={['/setup/assets/clavier.js', '/setup/assets/setup.js']} />
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
