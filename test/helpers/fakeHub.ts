/**
 * A local stand-in for the Hugging Face Hub (127.0.0.1, port 0) and its CDN (a second server on another port), for
 * the download tests. Hub behaviour copied:
 *   HEAD/GET /{org}/{name}/resolve/{rev}/{path}   rev = "main" or the commit
 *     small (non-LFS) files: 200, ETag "<git blob sha1>", X-Repo-Commit, Content-Length, Range → 206
 *     LFS files: 302 to http://127.0.0.1:<cdn port>/blobs/<sha256>?sig=… with X-Linked-Etag "<sha256>",
 *       X-Linked-Size, ETag, X-Repo-Commit (the CDN serves the bytes: Range → 206 + Content-Range)
 *     unknown repo: 401 (no token) / 404 with X-Error-Code RepoNotFound; unknown revision: 404 RevisionNotFound;
 *     unknown file: 404 EntryNotFound; a repo with `token`: 401 unless `Authorization: Bearer <token>`
 *     a repo with `renamedFrom`: the old name answers 307 with a relative Location (as after a rename)
 * Faults, per file and server, for a number of requests: cut the connection after N bytes, hang after N bytes,
 * serve wrong bytes, an HTML page (text/html, or octet-stream with an HTML body), a status, ignore Range, go slowly.
 * Every request is recorded (server, method, path, headers, status).
 */
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeFile {
  path: string;
  content: Buffer;
  /** Served through the CDN redirect with X-Linked-Etag (default: paths ending in .onnx or .onnx_data). */
  lfs?: boolean;
}

export interface FakeRepo {
  id: string;
  commit: string;
  files: FakeFile[];
  /** Requests need `Authorization: Bearer <token>`. */
  token?: string;
  /** An old name that redirects (relative 307) to this repository. */
  renamedFrom?: string;
}

export type Fault =
  | { kind: 'cut'; after: number }
  | { kind: 'hang'; after: number }
  | { kind: 'wrong-bytes' }
  | { kind: 'html' }
  | { kind: 'html-binary' }
  | { kind: 'status'; status: number; retryAfter?: number }
  | { kind: 'ignore-range' }
  | { kind: 'slow'; chunk: number; delayMs: number };

interface FaultRule {
  path: string;
  fault: Fault;
  /** Requests left that get the fault. */
  times: number;
  server: 'hub' | 'cdn' | 'any';
  methods: string[];
}

export interface RequestRecord {
  server: 'hub' | 'cdn';
  method: string;
  url: string;
  /** The repository file asked for (after resolving the CDN blob), when known. */
  file?: string;
  headers: http.IncomingHttpHeaders;
  status?: number;
}

export function sha256(b: Buffer): string {
  return crypto.createHash('sha256').update(b).digest('hex');
}

export function gitBlobSha1(b: Buffer): string {
  return crypto.createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
}

const HTML_PAGE = '<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>\n';

export class FakeHub {
  readonly requests: RequestRecord[] = [];
  private rules: FaultRule[] = [];
  private readonly sockets = new Set<import('node:net').Socket>();
  private hub!: http.Server;
  private cdn!: http.Server;
  endpoint = '';
  cdnOrigin = '';

  private constructor(readonly repos: FakeRepo[]) {}

  static async start(repos: FakeRepo[]): Promise<FakeHub> {
    const f = new FakeHub(repos);
    f.hub = http.createServer((req, res) => f.onHub(req, res));
    f.cdn = http.createServer((req, res) => f.onCdn(req, res));
    for (const s of [f.hub, f.cdn]) {
      s.on('connection', (sock) => {
        f.sockets.add(sock);
        sock.on('close', () => f.sockets.delete(sock));
      });
      await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    }
    f.endpoint = `http://127.0.0.1:${(f.hub.address() as AddressInfo).port}`;
    f.cdnOrigin = `http://127.0.0.1:${(f.cdn.address() as AddressInfo).port}`;
    return f;
  }

  /** Gives `fault` to the next `times` requests (default: all) for `path` on `server` (default: the one serving bytes). */
  addFault(path: string, fault: Fault, opts: { times?: number; server?: 'hub' | 'cdn' | 'any'; methods?: string[] } = {}): void {
    this.rules.push({ path, fault, times: opts.times ?? Infinity, server: opts.server ?? 'any', methods: opts.methods ?? ['GET'] });
  }

  clearFaults(): void {
    this.rules = [];
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  /** Requests that carried the bytes of `path` (GET answered 200 or 206). */
  transfers(path?: string): RequestRecord[] {
    return this.requests.filter((r) => r.method === 'GET' && (r.status === 200 || r.status === 206) && r.file !== undefined && (path === undefined || r.file === path));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all([this.hub, this.cdn].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  private takeFault(path: string, server: 'hub' | 'cdn', method: string): Fault | undefined {
    const rule = this.rules.find((r) => r.path === path && r.times > 0 && (r.server === 'any' || r.server === server) && r.methods.includes(method));
    if (!rule) return undefined;
    rule.times--;
    return rule.fault;
  }

  private record(server: 'hub' | 'cdn', req: http.IncomingMessage, res: http.ServerResponse, file?: string): RequestRecord {
    const rec: RequestRecord = { server, method: req.method ?? '', url: req.url ?? '', file, headers: { ...req.headers } };
    this.requests.push(rec);
    // The status is known when the head goes out (a client may finish before the server ends the response).
    const writeHead = res.writeHead.bind(res) as (...a: unknown[]) => http.ServerResponse;
    res.writeHead = ((...a: unknown[]) => {
      rec.status = a[0] as number;
      return writeHead(...a);
    }) as typeof res.writeHead;
    return rec;
  }

  private static isLfs(f: FakeFile): boolean {
    return f.lfs ?? /\.onnx(_data)?$/.test(f.path);
  }

  private onHub(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', this.endpoint);
    const m = /^\/([^/]+)\/([^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const rec = this.record('hub', req, res);
    if (!m) return void this.error(res, 404, 'NotFound', 'no such route');
    const repoId = `${decodeURIComponent(m[1])}/${decodeURIComponent(m[2])}`;
    const rev = decodeURIComponent(m[3]);
    const filePath = m[4].split('/').map(decodeURIComponent).join('/');
    rec.file = filePath;
    const renamed = this.repos.find((r) => r.renamedFrom === repoId);
    if (renamed) {
      res.writeHead(307, { Location: `/${renamed.id}/resolve/${m[3]}/${m[4]}` });
      return void res.end();
    }
    const repo = this.repos.find((r) => r.id === repoId);
    const auth = req.headers.authorization;
    if (!repo) return void this.error(res, auth ? 404 : 401, 'RepoNotFound', 'Repository not found');
    if (repo.token !== undefined && auth !== `Bearer ${repo.token}`) {
      return void this.error(res, 401, 'GatedRepo', `Access to model ${repo.id} is restricted. You must be authenticated to access it.`);
    }
    if (rev !== 'main' && rev !== repo.commit) return void this.error(res, 404, 'RevisionNotFound', 'Invalid rev id');
    const file = repo.files.find((f) => f.path === filePath);
    if (!file) return void this.error(res, 404, 'EntryNotFound', 'Entry not found');
    const base = { 'X-Repo-Commit': repo.commit };
    if (FakeHub.isLfs(file)) {
      const fault = this.takeFault(file.path, 'hub', req.method ?? '');
      if (fault?.kind === 'status') return void this.error(res, fault.status, 'Fault', 'injected', fault.retryAfter);
      const sha = sha256(file.content);
      res.writeHead(302, {
        ...base,
        Location: `${this.cdnOrigin}/blobs/${sha}?sig=${crypto.randomBytes(4).toString('hex')}`,
        ETag: `"${sha}"`,
        'X-Linked-Etag': `"${sha}"`,
        'X-Linked-Size': String(file.content.length),
        'Content-Length': '0',
      });
      return void res.end();
    }
    this.serveBytes('hub', req, res, file, { ...base, ETag: `"${gitBlobSha1(file.content)}"`, 'Content-Type': 'text/plain; charset=utf-8' });
  }

  private onCdn(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', this.cdnOrigin);
    const rec = this.record('cdn', req, res);
    const m = /^\/blobs\/([0-9a-f]{64})$/.exec(url.pathname);
    const file = m ? this.repos.flatMap((r) => r.files).find((f) => sha256(f.content) === m[1]) : undefined;
    if (!file) {
      res.writeHead(403, { 'Content-Type': 'application/xml' });
      return void res.end('<?xml version="1.0"?><Error><Code>AccessDenied</Code></Error>');
    }
    rec.file = file.path;
    this.serveBytes('cdn', req, res, file, { ETag: `"${sha256(file.content)}"`, 'Content-Type': 'application/octet-stream' });
  }

  private error(res: http.ServerResponse, status: number, code: string, message: string, retryAfter?: number): void {
    const headers: http.OutgoingHttpHeaders = { 'Content-Type': 'application/json', 'X-Error-Code': code, 'X-Error-Message': message };
    if (retryAfter !== undefined) headers['Retry-After'] = String(retryAfter);
    res.writeHead(status, headers);
    res.end(JSON.stringify({ error: message }));
  }

  private serveBytes(server: 'hub' | 'cdn', req: http.IncomingMessage, res: http.ServerResponse, file: FakeFile, headers: http.OutgoingHttpHeaders): void {
    const method = req.method ?? 'GET';
    const fault = this.takeFault(file.path, server, method);
    if (fault?.kind === 'status') return void this.error(res, fault.status, 'Fault', 'injected', fault.retryAfter);
    if (fault?.kind === 'html') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(HTML_PAGE) });
      return void res.end(method === 'HEAD' ? undefined : HTML_PAGE);
    }
    let content = file.content;
    if (fault?.kind === 'html-binary') {
      // An HTML body of exactly the file's size, labelled as binary: only sniffing the first bytes can tell.
      content = Buffer.alloc(file.content.length, 0x20);
      Buffer.from(HTML_PAGE).copy(content, 0, 0, Math.min(HTML_PAGE.length, content.length));
    }
    if (fault?.kind === 'wrong-bytes') {
      content = Buffer.from(file.content);
      for (let i = 0; i < content.length; i += 97) content[i] ^= 0x5a;
    }
    const range = fault?.kind === 'ignore-range' ? undefined : req.headers.range;
    let status = 200;
    let body = content;
    const out: http.OutgoingHttpHeaders = { ...headers, 'Accept-Ranges': 'bytes' };
    if (range !== undefined) {
      const m = /^bytes=(\d+)-$/.exec(range);
      const start = m ? Number(m[1]) : NaN;
      if (!(start < content.length)) {
        res.writeHead(416, { ...out, 'Content-Range': `bytes */${content.length}` });
        return void res.end();
      }
      status = 206;
      body = content.subarray(start);
      out['Content-Range'] = `bytes ${start}-${content.length - 1}/${content.length}`;
    }
    out['Content-Length'] = String(body.length);
    res.writeHead(status, out);
    if (method === 'HEAD') return void res.end();
    if (fault?.kind === 'cut') {
      res.write(body.subarray(0, fault.after), () => res.socket?.destroy());
      return;
    }
    if (fault?.kind === 'hang') {
      res.write(body.subarray(0, fault.after));
      return; // nothing more until the client goes away
    }
    if (fault?.kind === 'slow') {
      let at = 0;
      const step = () => {
        if (res.destroyed) return;
        if (at >= body.length) return void res.end();
        const next = body.subarray(at, at + fault.chunk);
        at += next.length;
        res.write(next, () => setTimeout(step, fault.delayMs));
      };
      return step();
    }
    res.end(body);
  }
}
