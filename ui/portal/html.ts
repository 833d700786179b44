import { FR } from './strings.js';

/** Server-side HTML of the portal: every interpolated value goes through `esc`. No CDN, no inline script or style. */

export function esc(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

export interface LayoutUser {
  name: string;
  structure?: string;
}

export function layout(title: string, body: string, user?: LayoutUser): string {
  const header = user
    ? `<div class="utilisateur" id="utilisateur">${esc(FR.loggedInAs)} <strong>${esc(user.name)}</strong>${user.structure ? ` — ${esc(user.structure)}` : ''}
        <form method="post" action="/portal/logout" class="en-ligne"><button type="submit" id="se-deconnecter">${esc(FR.logoutButton)}</button></form></div>`
    : '';
  return `<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} — ${esc(FR.appName)}</title>
<link rel="stylesheet" href="/portal/assets/portail.css">
<script src="/portal/assets/portail.js" defer></script>
</head>
<body>
<a class="evitement" href="#contenu">${esc(FR.skipToContent)}</a>
<header class="bandeau"><a href="/portal/" class="marque">${esc(FR.appName)} · ${esc(FR.portalTitle)}</a>${header}</header>
<main id="contenu">
<h1>${esc(title)}</h1>
${body}
</main>
</body>
</html>`;
}

/** XDS DTM (UTC) as a French local date and time (Europe/Paris). */
export function frenchDateTime(dtm: string | undefined): string {
  if (!dtm) return '';
  const m = /^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?/.exec(dtm);
  if (!m) return dtm;
  const [, y, mo, d, h, mi] = m;
  if (!mo) return y!;
  if (!d) return `${mo}/${y}`;
  if (!h) return `${d}/${mo}/${y}`;
  const date = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi ?? 0)));
  return new Intl.DateTimeFormat('fr-FR', { timeZone: 'Europe/Paris', dateStyle: 'short', timeStyle: 'short' }).format(date);
}

/** YYYY-MM-DD as DD/MM/YYYY (INS dates keep their 00 for an unknown day or month). */
export function frenchDate(iso: string | undefined): string {
  const m = iso ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso) : null;
  return m ? `${m[3]}/${m[2]}/${m[1]}` : (iso ?? '');
}

/** Fills `{name}` placeholders of a template from strings.ts. */
export function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (m, name: string) => (name in values ? String(values[name]) : m));
}

export function megabytes(bytes: number): string {
  return (bytes / 1e6).toLocaleString('fr-FR', { maximumFractionDigits: 1 });
}
