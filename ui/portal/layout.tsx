import type { Child } from 'hono/jsx';
import { raw } from 'hono/html';
import { FR } from '../strings/portal.js';
import { PageHead } from '../common/page-head.js';

/** The page frame of the portal. Values are escaped by hono/jsx. No CDN, no inline script or style (the CSP forbids them). */

export interface LayoutUser {
  name: string;
  structure?: string;
}

export function Layout(props: { title: string; user?: LayoutUser; children?: Child }) {
  const { title, user } = props;
  return (
    <>
      {raw('<!doctype html>\n')}
      <html lang="fr">
        <PageHead title={`${title} — ${FR.appName}`} styles={['/portal/assets/portail.css']} scripts={['/portal/assets/portail.js']} />
        <body>
          <a class="evitement" href="#contenu">
            {FR.skipToContent}
          </a>
          <header class="bandeau">
            <a href="/portal/" class="marque">{`${FR.appName} · ${FR.portalTitle}`}</a>
            {user && <UserBox user={user} />}
          </header>
          <main id="contenu">
            <h1>{title}</h1>
            {props.children}
          </main>
        </body>
      </html>
    </>
  );
}

function UserBox({ user }: { user: LayoutUser }) {
  return (
    <div class="utilisateur" id="utilisateur">
      {FR.loggedInAs} <strong>{user.name}</strong>
      {user.structure ? ` — ${user.structure}` : ''}{' '}
      <form method="post" action="/portal/logout" class="en-ligne">
        <button type="submit" id="se-deconnecter">
          {FR.logoutButton}
        </button>
      </form>
    </div>
  );
}
