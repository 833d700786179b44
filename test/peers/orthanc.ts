import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports.js';

export interface OrthancModality {
  aeTitle: string;
  host: string;
  port: number;
}

export interface OrthancOptions {
  aeTitle?: string;
  /** Modalities Orthanc knows (may C-FIND/C-GET/C-MOVE, and be a C-MOVE destination), keyed by name. */
  modalities?: Record<string, OrthancModality>;
  /** Remote DICOMweb servers for Orthanc's DICOMweb plugin (its client side). */
  dicomwebServers?: Record<string, unknown>;
  /** Disable C-GET (to test the C-MOVE path). Orthanc 1.10 has no switch for it: modalities get AllowGet=false. */
  allowGet?: boolean;
  extra?: Record<string, unknown>;
}

export interface OrthancPeer {
  pid: number;
  aeTitle: string;
  dicomPort: number;
  httpPort: number;
  httpUrl: string;
  dicomwebUrl: string;
  dir: string;
  /** Uploads a Part-10 file through the REST API; returns Orthanc's instance id. */
  upload(file: Buffer): Promise<string>;
  rest<T = unknown>(path: string, init?: RequestInit): Promise<T>;
  stop(): Promise<void>;
}

/** Starts Debian's Orthanc (with the DICOMweb plugin) on free loopback ports, in its own temp dir. */
export async function startOrthanc(options: OrthancOptions = {}): Promise<OrthancPeer> {
  const dir = mkdtempSync(join(tmpdir(), 'drimbox-orthanc-'));
  const dicomPort = await freePort();
  const httpPort = await freePort();
  const aeTitle = options.aeTitle ?? 'ORTHANC';
  const modalities: Record<string, unknown> = {};
  for (const [name, m] of Object.entries(options.modalities ?? {})) {
    modalities[name] = {
      AET: m.aeTitle,
      Host: m.host,
      Port: m.port,
      AllowEcho: true,
      AllowFind: true,
      AllowGet: options.allowGet ?? true,
      AllowMove: true,
      AllowStore: true,
    };
  }
  const config = {
    Name: `DRIMBOX-TEST-${aeTitle}`,
    StorageDirectory: join(dir, 'storage'),
    IndexDirectory: join(dir, 'index'),
    Plugins: ['/usr/share/orthanc/plugins/libOrthancDicomWeb.so'],
    HttpPort: httpPort,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    DicomAet: aeTitle,
    DicomPort: dicomPort,
    DicomModalities: modalities,
    DicomCheckCalledAet: true,
    DicomAssociationCloseDelay: 0,
    SaveJobs: false,
    StorageCompression: false,
    OverwriteInstances: true,
    DicomWeb: {
      Enable: true,
      Root: '/dicom-web/',
      Host: `127.0.0.1:${httpPort}`,
      Ssl: false,
      Servers: options.dicomwebServers ?? {},
    },
    ...options.extra,
  };
  const configFile = join(dir, 'orthanc.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const logFd = openSync(join(dir, 'orthanc.log'), 'a');
  // TCP_NODELAY=1: DCMTK inside Orthanc leaves Nagle on otherwise (44–89 ms stall per instance).
  const child: ChildProcess = spawn('Orthanc', [configFile], {
    env: { ...process.env, TCP_NODELAY: '1' },
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let dead = false;
  child.once('exit', () => (dead = true));
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  try {
    await waitFor(async () => {
      if (dead) throw new Error('exited');
      return (await fetch(`${httpUrl}/system`)).ok;
    }, 20_000, `Orthanc on ${httpUrl}`);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`Orthanc did not start (see ${dir}/orthanc.log): ${(err as Error).message}`);
  }
  if (dead) throw new Error(`Orthanc exited at start (see ${dir}/orthanc.log)`);

  const rest = async <T>(path: string, init?: RequestInit): Promise<T> => {
    const res = await fetch(`${httpUrl}${path}`, init);
    if (!res.ok) throw new Error(`Orthanc ${init?.method ?? 'GET'} ${path}: HTTP ${res.status} ${await res.text()}`);
    const type = res.headers.get('content-type') ?? '';
    return (type.includes('json') ? await res.json() : await res.text()) as T;
  };
  return {
    pid: child.pid!,
    aeTitle,
    dicomPort,
    httpPort,
    httpUrl,
    dicomwebUrl: `${httpUrl}/dicom-web`,
    dir,
    rest,
    async upload(file: Buffer) {
      const r = await rest<{ ID: string }>('/instances', { method: 'POST', body: new Uint8Array(file) });
      return r.ID;
    },
    async stop() {
      if (!dead) {
        process.kill(child.pid!, 'SIGTERM');
        const timer = setTimeout(() => !dead && process.kill(child.pid!, 'SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
