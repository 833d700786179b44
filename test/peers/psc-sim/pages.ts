import type { TestProfessional } from './professionals.js';

// French pages of the simulator. Element ids and names are stable: headless browsers drive them
// (#professionnel, #motdepasse, #se-connecter, #erreur).

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function layout(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;background:#f2f4f8;margin:0;padding:2rem}
main{max-width:28rem;margin:0 auto;background:#fff;padding:1.5rem 2rem;border-radius:6px;box-shadow:0 1px 4px rgba(0,0,0,.15)}
h1{font-size:1.3rem;color:#000091}label{display:block;margin-top:1rem;font-weight:600}
select,input{width:100%;padding:.5rem;margin-top:.3rem;box-sizing:border-box}
button{margin-top:1.5rem;width:100%;padding:.7rem;background:#000091;color:#fff;border:0;border-radius:4px;font-size:1rem}
#erreur{color:#b00020}.note{font-size:.85rem;color:#555}
</style>
</head>
<body><main>
${body}
</main></body>
</html>`;
}

export function loginPage(args: {
  action: string;
  clientId: string;
  professionals: readonly TestProfessional[];
  selected?: string;
  error?: string;
}): string {
  const options = args.professionals
    .map(
      (p) =>
        `<option value="${escapeHtml(p.id)}"${p.id === args.selected ? ' selected' : ''}>${escapeHtml(p.label)}</option>`,
    )
    .join('\n');
  const error = args.error ? `<p id="erreur" role="alert">${escapeHtml(args.error)}</p>` : '';
  return layout(
    'Pro Santé Connect (simulateur) — Connexion',
    `<h1>Pro Santé Connect — simulateur de test</h1>
<p>Connexion demandée par le service <strong id="client">${escapeHtml(args.clientId)}</strong>.</p>
${error}
<form id="connexion-psc" method="post" action="${escapeHtml(args.action)}">
<label for="professionnel">Professionnel de santé</label>
<select id="professionnel" name="professionnel" required>
${options}
</select>
<label for="motdepasse">Mot de passe</label>
<input id="motdepasse" name="motdepasse" type="password" autocomplete="current-password" required>
<button id="se-connecter" type="submit">Se connecter</button>
</form>
<p class="note">Simulateur réservé aux tests : aucune donnée réelle, aucun accès hors de cette machine.</p>`,
  );
}

export function logoutPage(form: string, host: string): string {
  // oidc-provider supplies the form (id op.logoutForm, with its xsrf field); PSC signs out without asking.
  return layout(
    'Pro Santé Connect (simulateur) — Déconnexion',
    `<h1>Déconnexion de ${escapeHtml(host)}</h1>
${form}
<button id="se-deconnecter" type="submit" form="op.logoutForm" name="logout" value="yes">Se déconnecter</button>
<script>document.getElementById('op.logoutForm').insertAdjacentHTML('beforeend','<input type="hidden" name="logout" value="yes">');document.getElementById('op.logoutForm').submit();</script>`,
  );
}

export function loggedOutPage(): string {
  return layout('Pro Santé Connect (simulateur) — Déconnecté', '<h1 id="deconnecte">Vous êtes déconnecté.</h1>');
}

export function errorPage(out: Record<string, unknown>): string {
  const lines = Object.entries(out)
    .map(([k, v]) => `<li><strong>${escapeHtml(k)}</strong> : ${escapeHtml(String(v))}</li>`)
    .join('');
  return layout('Pro Santé Connect (simulateur) — Erreur', `<h1 id="erreur-oidc">Erreur</h1><ul>${lines}</ul>`);
}
