import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, waitFor } from '../peers/ports.js';

/**
 * Debian's nginx (nginx-light) as a reverse proxy in front of an HTTP server on loopback: the relay anchor of the
 * WADO bench. Its own prefix, config, pid and log files in `dir`; one worker, proxy buffering on (nginx's default,
 * with 64 KiB buffers) in memory only, HTTP/1.1 keep-alive to the upstream; stopped by its PID.
 * In memory only (`proxy_max_temp_file_size 0`: a full buffer waits for the client, as the box does): with nginx's
 * default (up to 1 GiB in temporary files) every retrieval of the 685 MB study went through a file on disk ("an
 * upstream response is buffered to a temporary file" at each one), and the anchor swung with the page cache: from
 * 0.56× to 0.8× of Orthanc direct between runs, the box measured 0.5× to 1.05× of it.
 */

export interface NginxRelay {
  pid: number;
  /** http://127.0.0.1:port */
  url: string;
  stop(): Promise<void>;
}

export async function startNginxRelay(upstreamHostPort: string, dir: string): Promise<NginxRelay> {
  mkdirSync(join(dir, 'temp'), { recursive: true });
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    // As root, the worker stays root: its temp files (a slow client's backlog) go in this private folder.
    `${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'temp/body')};
  proxy_temp_path ${join(dir, 'temp/proxy')};
  upstream pacs {
    server ${upstreamHostPort};
    keepalive 8;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://pacs;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering on;
      proxy_buffer_size 64k;
      proxy_buffers 8 64k;
      proxy_busy_buffers_size 128k;
      proxy_max_temp_file_size 0;
    }
  }
}
`,
  );
  const child: ChildProcess = spawn('nginx', ['-p', dir, '-c', conf, '-e', join(dir, 'error.log'), '-g', 'daemon off;'], { stdio: 'ignore' });
  let dead = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => ((dead = true), resolve())));
  child.once('error', () => (dead = true));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => {
      if (dead) throw new Error('exited');
      await fetch(url + '/');
      return true;
    }, 10_000, `nginx on ${url}`);
  } catch (err) {
    if (!dead) process.kill(child.pid!, 'SIGKILL');
    let log = '';
    try {
      log = readFileSync(join(dir, 'error.log'), 'utf8').slice(-500);
    } catch {
      // no log written
    }
    throw new Error(`nginx did not start (is nginx-light installed?): ${(err as Error).message} ${log}`);
  }
  return {
    pid: child.pid!,
    url,
    async stop() {
      if (dead) return;
      process.kill(child.pid!, 'SIGTERM');
      const timer = setTimeout(() => !dead && process.kill(child.pid!, 'SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
