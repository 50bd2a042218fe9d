/**
 * nginx in front of `lockstep serve` replicas, as a team would run it (docs/serve.md): consistent hashing on the
 * X-Lockstep-Client header, so each client's requests reach the replica whose prompt cache holds its file. Used by
 * `lockstep bench serve` and test/server/router.test.ts. nginx runs unprivileged on a loopback port with every path
 * (pid, logs, temp files) in its own temp dir, so it needs no root and leaves nothing behind.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { descendants } from './procs';

export interface Upstream {
  host: string;
  port: number;
}

export interface NginxConfigOptions {
  /** The folder nginx runs in (`-p`): pid, logs and temp files go there. */
  dir: string;
  listenHost: string;
  listenPort: number;
  upstreams: readonly Upstream[];
  /** client_max_body_size (default 4m: a prompt with cross-file context is well under it). */
  maxBody?: string;
  /** proxy_read_timeout in seconds (default 300: a long completion on a slow CPU must not be cut by the router). */
  readTimeoutS?: number;
}

/** The header the router hashes on (what clients send as their id). */
export const CLIENT_HEADER = 'X-Lockstep-Client';
/** The header the router adds to every answer: which replica answered (host:port), for affinity checks and logs. */
export const UPSTREAM_HEADER = 'X-Lockstep-Upstream';

/** nginx.conf for `nginx -p DIR -c nginx.conf`; docs/serve.md shows the same file for a team. */
export function nginxConfig(o: NginxConfigOptions): string {
  if (o.upstreams.length === 0) throw new Error('nginxConfig: no upstreams');
  const d = (p: string) => path.join(o.dir, p);
  const servers = o.upstreams.map((u) => `    server ${u.host}:${u.port} max_fails=3 fail_timeout=10s;`).join('\n');
  return `# Written by lockstep (bench/serve/router.ts). Run: nginx -p ${o.dir} -c nginx.conf
daemon off;
worker_processes 1;
pid ${d('nginx.pid')};
error_log ${d('error.log')} warn;
events { worker_connections 1024; }
http {
  client_body_temp_path ${d('tmp/body')};
  proxy_temp_path ${d('tmp/proxy')};
  fastcgi_temp_path ${d('tmp/fastcgi')};
  uwsgi_temp_path ${d('tmp/uwsgi')};
  scgi_temp_path ${d('tmp/scgi')};
  log_format lockstep '$time_iso8601 $http_x_lockstep_client $upstream_addr $status $request_time';
  access_log ${d('access.log')} lockstep;

  # A client without an id is hashed by its address, so it still sticks to one replica.
  map $http_x_lockstep_client $lockstep_affinity {
    ""      $remote_addr;
    default $http_x_lockstep_client;
  }
  upstream lockstep {
    # Consistent (ketama) hashing: adding or removing a replica moves only ~1/N of the clients.
    hash $lockstep_affinity consistent;
${servers}
    keepalive 32;
  }
  server {
    listen ${o.listenHost}:${o.listenPort};
    client_max_body_size ${o.maxBody ?? '4m'};
    location / {
      proxy_pass http://lockstep;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      # Streaming answers (server-sent events) must reach the editor token by token, not when complete.
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_connect_timeout 5s;
      proxy_send_timeout 60s;
      proxy_read_timeout ${o.readTimeoutS ?? 300}s;
      # A completion is not retried on another replica: it might run twice, and the client's latest-wins
      # replacement only works on the replica that holds its queue.
      proxy_next_upstream off;
      add_header ${UPSTREAM_HEADER} $upstream_addr always;
    }
  }
}
`;
}

/** A free TCP port on host (nginx cannot listen on port 0 and report the port it got). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * The nginx binary: $LOCKSTEP_NGINX, nginx on the PATH, or the copy test/router/setup.sh keeps in its cache; null
 * when none (the caller says how to get one). With `setup`, runs test/router/setup.sh when nothing else is found.
 */
export function findNginx(o: { setup?: boolean; root?: string } = {}): string | null {
  const env = process.env.LOCKSTEP_NGINX;
  if (env) return fs.existsSync(env) ? env : null;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && fs.existsSync(path.join(dir, 'nginx'))) return path.join(dir, 'nginx');
  }
  const cache = process.env.LOCKSTEP_NGINX_CACHE ?? path.join(os.homedir(), '.cache', 'lockstep-nginx');
  const cached = path.join(cache, 'nginx', 'root', 'usr', 'sbin', 'nginx');
  if (fs.existsSync(path.join(cache, 'nginx', '.complete')) && fs.existsSync(cached)) return cached;
  if (!o.setup || !o.root) return null;
  const script = path.join(o.root, 'test', 'router', 'setup.sh');
  if (!fs.existsSync(script)) return null;
  const r = spawnSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 15 * 60_000 });
  const bin = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status === 0 && bin && fs.existsSync(bin)) return bin;
  throw new Error(`test/router/setup.sh failed (status ${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
}

export interface Router {
  url: string;
  port: number;
  dir: string;
  pid: number;
  /** Lines of its access log: `time client upstream status seconds`. */
  accessLog(): string[];
  /** Stops nginx (graceful, then forced) and removes its folder. */
  stop(): Promise<void>;
}

/** Starts nginx in front of `upstreams` on a free loopback port; resolves once it accepts connections. */
export async function startRouter(nginx: string, upstreams: readonly Upstream[], o: { host?: string } = {}): Promise<Router> {
  const host = o.host ?? '127.0.0.1';
  let lastError = '';
  // A free port can be taken between freePort() and nginx's bind: try a few.
  for (let attempt = 0; attempt < 5; attempt++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-nginx-'));
    for (const t of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) fs.mkdirSync(path.join(dir, 'tmp', t), { recursive: true });
    const port = await freePort(host);
    fs.writeFileSync(path.join(dir, 'nginx.conf'), nginxConfig({ dir, listenHost: host, listenPort: port, upstreams }));
    // -e: the start-up error log before the config is read (the compiled-in path may not be writable).
    const child = spawn(nginx, ['-p', dir, '-c', 'nginx.conf', '-e', path.join(dir, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => void (stderr += b.toString()));
    const up = await waitListening(child, host, port, 10_000);
    if (up) return router(child, dir, host, port);
    lastError = `${stderr}${readIf(path.join(dir, 'error.log'))}`.trim();
    await stopChild(child);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  throw new Error(`nginx did not start: ${lastError}`);
}

function router(child: ChildProcess, dir: string, host: string, port: number): Router {
  return {
    url: `http://${host}:${port}`, port, dir, pid: child.pid ?? -1,
    accessLog: () => readIf(path.join(dir, 'access.log')).split('\n').filter((l) => l.length > 0),
    stop: async () => {
      await stopChild(child);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function readIf(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** True once host:port accepts a connection; false if the child exits or the time runs out. */
async function waitListening(child: ChildProcess, host: string, port: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, host);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** SIGQUIT (nginx's graceful stop: in-flight answers finish); after 5 s SIGKILL to it and its workers. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      // Workers of a killed master would live on: kill them first.
      for (const p of descendants(child.pid ?? -1)) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      child.kill('SIGKILL');
    }, 5000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGQUIT');
  });
}
