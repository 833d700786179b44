/** A cookie-keeping HTTP client that follows nothing by itself: tests and the demo drive the portal with it like a browser. */
export class HttpBrowser {
  private readonly jar = new Map<string, string>();
  constructor(readonly origin: string) {}

  async go(pathOrUrl: string | URL, init: RequestInit = {}): Promise<Response> {
    const url = new URL(pathOrUrl, this.origin);
    const headers = new Headers(init.headers);
    if (url.origin === this.origin && this.jar.size) headers.set('cookie', [...this.jar].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    if (url.origin === this.origin) {
      for (const line of res.headers.getSetCookie()) {
        const [pair] = line.split(';');
        const eq = pair!.indexOf('=');
        const value = pair!.slice(eq + 1);
        if (!value || /Max-Age=0/i.test(line)) this.jar.delete(pair!.slice(0, eq));
        else this.jar.set(pair!.slice(0, eq), value);
      }
    }
    return res;
  }

  post(path: string, form: string | Record<string, string>): Promise<Response> {
    const body = typeof form === 'string' ? form : new URLSearchParams(form).toString();
    return this.go(path, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded', origin: this.origin } });
  }

  async json<T>(path: string): Promise<T> {
    const res = await this.go(path, { headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }
}
