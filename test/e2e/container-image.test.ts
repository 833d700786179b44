import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { request as plainRequest } from 'node:http';
import { join } from 'node:path';
import { reservedPorts, waitFor } from '../peers/ports.js';
import { podman } from '../demo/container-box.js';
import { runDemo } from '../demo/demo.js';

// The image a vendor ships (os-image/appliance/Dockerfile), built here by scripts/build-image.sh — again only when
// its sources changed (the image's drimbox.inputs label) — and run as on a device: read-only root, its own user,
// a /data volume and a /tmp tmpfs.
const ROOT = join(import.meta.dirname, '../..');
const IMAGE = process.env.DRIMBOX_TEST_IMAGE ?? 'localhost/drimbox:test';
const hasBuildah = spawnSync('buildah', ['--version']).status === 0;
if (!hasBuildah) {
  process.stderr.write('\n*** SKIPPED: the container image tests: buildah is not installed (bash scripts/install-system-deps.sh) ***\n\n');
}

const work = mkdtempSync('/tmp/drimbox-image-test-');
const started: string[] = [];

async function runBox(name: string, options: { readOnly: boolean }): Promise<{ data: string; http: number; kiosk: number }> {
  const data = mkdtempSync(join(work, 'data-'));
  chownSync(data, 1000, 1000);
  // Bound seconds later inside the container: below the ephemeral range, where no outgoing connection of a parallel
  // test can take them in between (once, the box could not bind and never answered).
  const [http, lan, kiosk] = (await reservedPorts(3)) as [number, number, number];
  // Not --rm: a box that exits keeps its log for the failure message (afterAll removes it).
  await podman([
    'run', '-d', '--no-healthcheck', '--name', name, ...(options.readOnly ? ['--read-only'] : []), '--tmpfs', '/tmp', '-v', `${data}:/data`, '--network=host',
    '-e', `DRIMBOX_HTTP_PORT=${http}`, '-e', `DRIMBOX_LAN_PORT=${lan}`, '-e', `DRIMBOX_KIOSK_PORT=${kiosk}`, '-e', 'DRIMBOX_HL7_PORT=0',
    '-e', 'DRIMBOX_DIMSE_PORT=0', '-e', 'DRIMBOX_DIMSE_LISTEN_HOST=127.0.0.1', IMAGE,
  ]);
  started.push(name);
  await waitFor(async () => (await fetch(`http://127.0.0.1:${kiosk}/health`).catch(() => undefined))?.ok === true, 60_000, `${name} to answer /health`).catch(async (err: Error) => {
    const logs = await podman(['logs', name]).catch(() => ({ stdout: '', stderr: '' }));
    throw new Error(`${err.message}\n${logs.stdout.slice(-3000)}\n${logs.stderr.slice(-3000)}`);
  });
  return { data, http, kiosk };
}

function inImage(script: string): { status: number | null; stdout: string } {
  const res = spawnSync('bash', ['-c', 'source scripts/podman-here.sh && podman_here "$@"', 'podman', 'run', '--rm', '--entrypoint', 'sh', IMAGE, '-c', script], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, STORAGE_DRIVER: 'vfs' },
  });
  return { status: res.status, stdout: res.stdout };
}

beforeAll(async () => {
  if (!hasBuildah) return;
  const inputs = execFileSync('bash', ['scripts/image-inputs.sh'], { cwd: ROOT, encoding: 'utf8' }).trim();
  const label = await podman(['image', 'inspect', '--format', '{{index .Labels "drimbox.inputs"}}', IMAGE]).then((r) => r.stdout.trim(), () => '');
  if (label !== inputs) execFileSync('bash', ['scripts/build-image.sh'], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, IMAGE } });
}, 40 * 60_000);

afterAll(async () => {
  for (const name of started) await podman(['rm', '-f', name]).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!hasBuildah)('the shipped image', () => {
  it('carries no compiler, package manager, tsx or test code, and runs as its own unprivileged user', () => {
    const tools = inImage('for t in gcc cc g++ c++ make python3 npm npx corepack yarn tsx vitest apt apt-get dpkg; do command -v $t; done; true');
    expect(tools.status).toBe(0);
    expect(tools.stdout.trim()).toBe('');
    // No secret baked in either: no key, certificate bundle or PKCS#12 of ours anywhere in the image.
    const secrets = inImage("find / -xdev \\( -name '*.p12' -o -name '*.pfx' -o -name '*.key' -o -name 'config.json' \\) -not -path '/proc/*' -not -path '/app/node_modules/*' 2>/dev/null; find /app /data -name '*.pem' 2>/dev/null; true");
    expect(secrets.stdout.trim()).toBe('');
    const files = inImage('ls /usr/local/lib/node_modules /app/node_modules/tsx /app/node_modules/vitest /app/test /app/appliance 2>/dev/null; id -u; node --version');
    expect(files.stdout.trim().split('\n')).toEqual(['1000', expect.stringMatching(/^v2[24]\./)]);
  });

  it('starts read-only with no configuration on an empty /data: HTTPS with its own certificate, plain HTTP redirected', async () => {
    const box = await runBox(`drimbox-test-empty-${process.pid}`, { readOnly: true });
    const ca = readFileSync(join(box.data, 'tls/self-signed.crt'));
    const health = await new Promise<{ status: number; body: string }>((resolve, reject) =>
      request({ host: '127.0.0.1', port: box.http, path: '/health', ca }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode!, body }));
      })
        .on('error', reject)
        .end(),
    );
    // Unconfigured, its PACS (127.0.0.1:4242) does not answer: 503 with the failed check named, over TLS.
    expect([200, 503]).toContain(health.status);
    expect(JSON.parse(health.body)).toMatchObject({ checks: expect.arrayContaining([expect.objectContaining({ name: 'pacs' })]) });
    const redirected = await new Promise<string | undefined>((resolve, reject) =>
      plainRequest({ host: '127.0.0.1', port: box.http, path: '/health' }, (res) => resolve(res.headers.location)).on('error', reject).end(),
    );
    expect(redirected).toBe(`https://127.0.0.1:${box.http}/health`);
    // The image's own health check (HEALTHCHECK, compose healthcheck) passes, as its user, on the kiosk listener.
    await expect(podman(['exec', '-e', `DRIMBOX_KIOSK_PORT=${box.kiosk}`, `drimbox-test-empty-${process.pid}`, 'node', 'bin/healthcheck.js'])).resolves.toBeDefined();
  });

  it('writes nowhere but /data and /tmp', async () => {
    const changes = async (name: string) =>
      Object.values(JSON.parse((await podman(['diff', '--format', 'json', name])).stdout || '{}') as Record<string, string[] | null>).flatMap((p) => p ?? []).sort();
    // What podman itself changes in any container of this image (its mount points for /etc/hosts, resolv.conf...).
    const baseline = `drimbox-test-baseline-${process.pid}`;
    await podman(['run', '-d', '--rm', '--no-healthcheck', '--name', baseline, '--tmpfs', '/tmp', '--network=host', '--entrypoint', 'sleep', IMAGE, '60']);
    started.push(baseline);
    const name = `drimbox-test-diff-${process.pid}`;
    const box = await runBox(name, { readOnly: false });
    expect(await changes(name)).toEqual(await changes(baseline));
    expect(readFileSync(join(box.data, 'tls/self-signed.key')).length).toBeGreaterThan(0);
  });

  it('runs the two-site demo with the source box inside the container', async () => {
    const code = await runDemo({ check: true, slices: 16, sourceImage: IMAGE, workDir: join(work, 'demo') });
    expect(code).toBe(0);
  }, 300_000);
});
