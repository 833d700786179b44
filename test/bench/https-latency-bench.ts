/**
 * Request latency on the box's HTTPS listener (appliance/src/http/listen.ts: HTTP/2 with HTTP/1.1 fallback and the
 * plain-HTTP redirect on one port): small answers over one kept-alive connection, as a consumer DRIMbox's source
 * client (HTTP/1.1) and a browser (HTTP/2) make them. Two answers: JSON in one write, and a streamed body in two
 * writes (as the box's DICOMweb answers are written, chunk by chunk). Prints the median and the slowest per
 * request; asserts nothing. Run: npx tsx test/bench/https-latency-bench.ts [requests]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { ensureSelfSignedCertificate } from '../../appliance/src/device/box-certificate.js';
import { listen } from '../../appliance/src/http/listen.js';

const requests = Number(process.argv[2] ?? 50);

function app(): Hono {
  const hono = new Hono();
  hono.get('/json', (c) => c.json({ status: 'ok', items: Array.from({ length: 20 }, (_, i) => ({ i })) }));
  hono.get('/streamed', () => {
    const half = new Uint8Array(1500).fill(120);
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(half);
        await new Promise((resolve) => setImmediate(resolve));
        controller.enqueue(half);
        controller.close();
      },
    });
    return new Response(body, { headers: { 'content-type': 'application/octet-stream' } });
  });
  return hono;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Node's HTTPS client offers no ALPN: the listener answers it in HTTP/1.1, as a source DRIMbox answers a consumer. */
async function http1(port: number, ca: Buffer, path: string): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca });
  const times: number[] = [];
  try {
    for (let i = 0; i <= requests; i++) {
      const start = performance.now();
      await new Promise<void>((resolve, reject) => {
        request({ host: '127.0.0.1', port, path, agent }, (res) => res.resume().on('end', resolve)).on('error', reject).end();
      });
      if (i > 0) times.push(performance.now() - start); // the first pays the handshake
    }
  } finally {
    agent.destroy();
  }
  return times;
}

async function http2(port: number, ca: Buffer, path: string): Promise<number[]> {
  const session = connect(`https://127.0.0.1:${port}`, { ca });
  const times: number[] = [];
  try {
    for (let i = 0; i <= requests; i++) {
      const start = performance.now();
      await new Promise<void>((resolve, reject) => {
        const stream = session.request({ ':path': path });
        stream.on('error', reject).resume().on('end', resolve);
      });
      if (i > 0) times.push(performance.now() - start);
    }
  } finally {
    session.close();
  }
  return times;
}

const dir = mkdtempSync(join(tmpdir(), 'https-latency-'));
try {
  const certificate = ensureSelfSignedCertificate(dir);
  const ca = readFileSync(certificate.certFile);
  const listener = await listen(app(), { host: '127.0.0.1', port: 0, tls: { certFile: certificate.certFile, keyFile: certificate.keyFile, clientCaFile: '' } });
  try {
    console.log(`HTTPS listener, ${requests} requests in a row on one connection (after its first), ms per request:`);
    for (const [protocol, run] of [['HTTP/1.1', http1], ['HTTP/2', http2]] as const) {
      for (const path of ['/json', '/streamed']) {
        const times = await run(listener.port, ca, path);
        console.log(`  ${protocol.padEnd(9)} ${path.padEnd(10)} median ${median(times).toFixed(2).padStart(6)}  slowest ${Math.max(...times).toFixed(2).padStart(6)}`);
      }
    }
  } finally {
    await listener.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
