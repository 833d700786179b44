#!/usr/bin/env node
// The container's health check: the box answers on its kiosk loopback listener (plain HTTP, no credentials).
// Liveness only: a PACS or a DMP that is down shows on the status screen, it is not a reason to restart the box.
const port = Number(process.env.DRIMBOX_KIOSK_PORT ?? 8088);
try {
  const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(4000) });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
