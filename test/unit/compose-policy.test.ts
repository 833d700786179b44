import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { defaultConfig } from '../../appliance/src/config/load.js';

// The balena compose file: the subset balena's supervisor accepts, and the hardening the box relies on
// (../shared/reference/appliance-and-fleet.md §5.1, copied facts: supported keys, forbidden ones, dangerous labels).
const ROOT = join(import.meta.dirname, '../..');
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
  version: string;
  volumes: Record<string, unknown>;
  services: Record<string, Record<string, unknown>>;
};

const SUPPORTED = new Set([
  'build', 'image', 'restart', 'user', 'read_only', 'tmpfs', 'cap_add', 'cap_drop', 'security_opt', 'devices', 'group_add',
  'sysctls', 'ulimits', 'pids_limit', 'mem_limit', 'healthcheck', 'stop_grace_period', 'stop_signal', 'networks',
  'network_mode', 'depends_on', 'ports', 'expose', 'volumes', 'labels', 'environment', 'privileged', 'command', 'entrypoint',
  'working_dir', 'hostname', 'dns', 'extra_hosts',
]);
const DANGEROUS_LABELS = ['balena-socket', 'dbus', 'sysfs', 'procfs', 'kernel-modules', 'firmware', 'extra-firmware', 'balena-api'].map((l) => `io.balena.features.${l}`);

describe('docker-compose.yml (balena)', () => {
  it('is compose 2.4 with named volumes only and no key balena refuses', () => {
    expect(compose.version).toBe('2.4');
    for (const [name, service] of Object.entries(compose.services)) {
      expect(Object.keys(service).filter((k) => !SUPPORTED.has(k)), name).toEqual([]);
      for (const volume of (service.volumes as string[] | undefined) ?? []) {
        expect(Object.keys(compose.volumes), `${name}: ${volume}`).toContain(volume.split(':')[0]);
      }
      for (const tmpfs of (service.tmpfs as string[] | undefined) ?? []) expect(tmpfs, `${name}: tmpfs options are refused`).not.toMatch(/:/);
    }
  });

  it('runs the box unprivileged, read-only, with no capability, writing only /data and /tmp', () => {
    const box = compose.services.appliance!;
    expect(box.user).toBe('1000:1000');
    expect(box.read_only).toBe(true);
    expect(box.privileged).toBeUndefined();
    expect(box.cap_drop).toEqual(['ALL']);
    expect(box.cap_add).toBeUndefined();
    expect(box.security_opt).toContain('no-new-privileges:true');
    expect(box.tmpfs).toEqual(['/tmp']);
    expect(box.volumes).toEqual(['drimbox-data:/data', 'pcscd-socket:/run/pcscd']);
    expect(Object.keys(box.labels as object).filter((l) => DANGEROUS_LABELS.includes(l))).toEqual([]);
  });

  it('gives in-flight work more than the grace period the box waits for, and checks liveness on the kiosk listener', () => {
    const box = compose.services.appliance!;
    expect(box.stop_signal).toBe('SIGTERM');
    // The box's own grace for in-flight work ends well before the engine's SIGKILL.
    const engineGrace = Number(/^(\d+)s$/.exec(box.stop_grace_period as string)?.[1]);
    expect(engineGrace).toBeGreaterThanOrEqual(defaultConfig().device.stopGraceSeconds + 10);
    expect((box.healthcheck as { test: string[] }).test).toEqual(['CMD', 'node', 'bin/healthcheck.js']);
    expect(readFileSync(join(ROOT, 'os-image/appliance/Dockerfile'), 'utf8')).toMatch(/^HEALTHCHECK .*CMD \["node", "bin\/healthcheck\.js"\]$/m);
  });

  it('publishes the box ports, and keeps the kiosk browser apart: no volume, no port, loopback only', () => {
    expect(compose.services.appliance!.ports).toEqual(['8080:8080', '8443:8443', '8444:8444', '11112:11112', '2575:2575']);
    const kiosk = compose.services.kiosk!;
    expect(kiosk.volumes).toBeUndefined();
    expect(kiosk.ports).toBeUndefined();
    expect(kiosk.network_mode).toBe('service:appliance');
    const url = (kiosk.environment as Record<string, string>).KIOSK_URL!;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:8088\//);
    // start-kiosk.sh waits for "${KIOSK_URL%/*}/health": the page must be one path segment below the origin.
    expect(`${url.replace(/\/[^/]*$/, '')}/health`).toBe('http://127.0.0.1:8088/health');
    expect(readFileSync(join(ROOT, 'os-image/kiosk/Dockerfile'), 'utf8')).toContain(`KIOSK_URL=${url}`);
  });

  it('builds the box from official images, as an unprivileged user, with nothing fetched from outside the registries and no x86-only step', () => {
    const dockerfile = readFileSync(join(ROOT, 'os-image/appliance/Dockerfile'), 'utf8');
    const froms = [...dockerfile.matchAll(/^ARG (NODE_IMAGE|DEBIAN_IMAGE)=(\S+)$/gm)].map((m) => m[2]);
    expect(froms).toEqual(['docker.io/library/node:22-bookworm-slim', 'docker.io/library/debian:bookworm-slim']);
    expect(dockerfile).not.toMatch(/balenalib|\b(curl|wget)\b|^ADD\s+https?:/im);
    expect(dockerfile).not.toMatch(/amd64|x86_64|linux-x64|aarch64|arm64v8/);
    expect(dockerfile).toMatch(/^USER 1000:1000$/m);
    expect(dockerfile).toMatch(/npm_config_build_from_source=true/);
  });
});
