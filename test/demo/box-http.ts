/** A running box seen through its HTTP routes: public liveness, and the touch screen's status report (kiosk, loopback). */

const HTTP_TIMEOUT_MS = 15_000;

export interface PublicHealth {
  status: number;
  ok: boolean;
  checks: { name: string; ok: boolean }[];
}

/** `GET /health` on the public listener: 200 or 503 are both answers (503: a peer is not well). */
export async function publicHealth(httpPort: number): Promise<PublicHealth> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/health`, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  const body = (await res.json()) as { ok: boolean; checks: { name: string; ok: boolean }[] };
  return { status: res.status, ok: body.ok, checks: body.checks };
}

export interface StatusTile {
  id: string;
  level: string;
  code: string;
  facts: Record<string, string | number | boolean | null>;
}

export interface BoxStatus {
  tiles: StatusTile[];
  publications: { studyInstanceUid: string; delivery: 'delivered' | 'queued' | 'refused' | 'local' }[];
}

/** `GET /status/report.json` on the kiosk listener: what the box's touch screen shows. */
export async function kioskStatus(kioskPort: number): Promise<BoxStatus> {
  const url = `http://127.0.0.1:${kioskPort}/status/report.json`;
  const res = await fetch(url, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
  return (await res.json()) as BoxStatus;
}
