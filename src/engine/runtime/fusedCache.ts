/**
 * Where fused copies live and how they are kept (fusedModel.ts makes them): one folder per content key under
 * `<cache>/fused/`, a `<key>.skip` marker for files that are not rebuilt, `sources.json` in each folder naming the files
 * it serves (the copy of a file since replaced is pruned), and `.tmp-<pid>-…` folders being written (a dead process's
 * are removed).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FUSED_EXPORT_VERSION } from '../../onnx/fusedExport';

/** Where the copies of a source live: one folder per content key (fusedKey), plus `<key>.skip` for non-candidates. */
export function fusedRoot(cacheDir: string): string {
  return path.join(cacheDir, 'fused');
}

/**
 * The cache key of a model file and its config: the export's version, config.json's bytes, and for each file (graph,
 * external data) its sha256 when it is a Hugging Face cache blob (the blob is named after it), else its size and a
 * sample of its bytes (first and last MiB, 64 spread 64 KiB windows). So a copy follows the content, not the path or
 * the modification time: a second folder holding the same download shares it, a changed file gets a new one.
 */
export function fusedKey(dir: string, file: string): string {
  const h = createHash('sha256');
  h.update(`${FUSED_EXPORT_VERSION}\0`);
  h.update(fs.readFileSync(path.join(dir, 'config.json')));
  for (const f of modelFiles(file)) {
    const real = fs.realpathSync(f);
    const blob = path.basename(real);
    const st = fs.statSync(real);
    h.update(`\0${path.basename(f)}:${st.size}:`);
    if (/^[0-9a-f]{64}$/.test(blob)) {
      h.update(`blob:${blob}`);
      continue;
    }
    const fd = fs.openSync(real, 'r');
    try {
      const win = Buffer.alloc(1 << 16);
      const at = (pos: number, n: number) => {
        const b = n === win.length ? win : Buffer.alloc(n);
        const got = fs.readSync(fd, b, 0, n, pos);
        h.update(b.subarray(0, got));
      };
      const edge = Math.min(1 << 20, st.size);
      at(0, edge);
      at(st.size - edge, edge);
      for (let i = 1; i < 64; i++) at(Math.floor((st.size * i) / 64), Math.min(win.length, st.size));
    } finally {
      fs.closeSync(fd);
    }
  }
  return h.digest('hex').slice(0, 20);
}

const SOURCES = 'sources.json';

/** Notes in a copy's folder which source files it serves (a copy made for a file that has since changed is pruned). */
export function recordSource(keyDir: string, file: string): void {
  const list = sourcesOf(keyDir);
  const abs = path.resolve(file);
  if (list.includes(abs)) return;
  try {
    fs.writeFileSync(path.join(keyDir, SOURCES), `${JSON.stringify([...list, abs])}\n`);
  } catch {
    // only pruning needs it
  }
}

export function sourcesOf(keyDir: string): string[] {
  try {
    const v = JSON.parse(fs.readFileSync(path.join(keyDir, SOURCES), 'utf8')) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/** Removes copies that served only `file` before it changed (a new download of the same path): disk is not spent twice. */
export function pruneReplaced(root: string, keep: string, file: string): void {
  const abs = path.resolve(file);
  for (const name of fs.readdirSync(root)) {
    const dir = path.join(root, name);
    if (dir === keep || name.startsWith('.') || name.endsWith('.skip')) continue;
    const list = sourcesOf(dir);
    if (list.length === 1 && list[0] === abs) fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function markSkipped(keyDir: string, why: string): void {
  try {
    fs.mkdirSync(path.dirname(keyDir), { recursive: true });
    fs.writeFileSync(`${keyDir}.skip`, `${why}\n`);
  } catch {
    // read again next time
  }
}

/** Removes temporary folders of processes that no longer run (killed during an export). */
export function removeAbandoned(root: string): void {
  for (const name of fs.readdirSync(root)) {
    const m = /^\.tmp-(\d+)-/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = pid === process.pid;
    if (!alive) {
      try {
        process.kill(pid, 0);
        alive = true;
      } catch (e) {
        alive = (e as NodeJS.ErrnoException).code === 'EPERM';
      }
    }
    if (!alive) fs.rmSync(path.join(root, name), { recursive: true, force: true });
  }
}

/** The graph file and its external data (files next to it named after it: model.onnx_data, model.onnx.data). */
export function modelFiles(file: string): string[] {
  const base = path.basename(file);
  const d = path.dirname(file);
  return fs.readdirSync(d).filter((f) => f === base || f.startsWith(`${base}_`) || f.startsWith(`${base}.`)).sort().map((f) => path.join(d, f));
}
