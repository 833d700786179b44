// Drives the simulator's login page without a browser: follows the redirects from an authorization URL,
// posts the login form, and stops at the first redirect that leaves the simulator (the client's callback).

export interface LoginResult {
  /** The callback URL the simulator redirected to (carries code, state, iss). */
  callbackUrl: URL;
  /** The login page HTML, as served (tests check its ids and labels). */
  loginPageHtml: string;
}

export class LoginRefused extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly html: string,
  ) {
    super(message);
  }
}

class CookieJar {
  private readonly cookies = new Map<string, string>();
  store(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (!pair || eq < 1) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /max-age=0\b/i.test(line) || /expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

export async function loginWithPassword(
  authorizationUrl: URL,
  credentials: { user: string; password: string },
  maxHops = 10,
): Promise<LoginResult> {
  const origin = authorizationUrl.origin;
  const jar = new CookieJar();
  let loginPageHtml = '';
  let next: { url: URL; method: 'GET' | 'POST'; body?: string } = { url: authorizationUrl, method: 'GET' };

  for (let hop = 0; hop < maxHops; hop++) {
    const res = await fetch(next.url, {
      method: next.method,
      redirect: 'manual',
      headers: {
        cookie: jar.header(),
        ...(next.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body: next.body,
    });
    jar.store(res);
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.arrayBuffer();
      const target = new URL(location, next.url);
      if (target.origin !== origin) return { callbackUrl: target, loginPageHtml };
      next = { url: target, method: 'GET' };
      continue;
    }
    const html = await res.text();
    if (res.status !== 200) throw new LoginRefused(`PSC simulator answered ${res.status} at ${next.url.pathname}`, res.status, html);
    const action = /<form id="connexion-psc" method="post" action="([^"]+)"/.exec(html)?.[1];
    if (!action || next.method === 'POST') throw new LoginRefused(`no login form at ${next.url.pathname}`, res.status, html);
    loginPageHtml = html;
    const form = new URLSearchParams({ professionnel: credentials.user, motdepasse: credentials.password });
    next = { url: new URL(action.replace(/&#38;/g, '&'), next.url), method: 'POST', body: form.toString() };
  }
  throw new Error(`login did not reach the client's callback within ${maxHops} redirects`);
}
