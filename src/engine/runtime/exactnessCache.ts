/**
 * The exactness probe's verdicts on disk, shared by the CLI and the extension's engine process:
 * `<cache>/exactness/<key>.json`, where <cache> is LOCKSTEP_CACHE_DIR, else $XDG_CACHE_HOME/lockstep, else
 * %LOCALAPPDATA%\lockstep on Windows, else ~/.cache/lockstep. The key hashes the model file's identity (size, mtime
 * and the first and last MiB of the .onnx and of its external data), the variant, device, threads, onnxruntime's
 * version, the CPU and the probe's version: any of them changing means probing again.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PROBE_VERSION, type ExactnessVerdict } from './exactness';


const EDGE = 1 << 20;

/** Size, mtime and a hash of the first and last MiB of a file; '' when it does not exist. */
function fileIdentity(file: string): string {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    return '';
  }
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(Math.min(EDGE, st.size));
    fs.readSync(fd, buf, 0, buf.length, 0);
    h.update(buf);
    if (st.size > EDGE) {
      const tail = Buffer.alloc(Math.min(EDGE, st.size - EDGE));
      fs.readSync(fd, tail, 0, tail.length, st.size - tail.length);
      h.update(tail);
    }
  } finally {
    fs.closeSync(fd);
  }
  return `${st.size}:${Math.round(st.mtimeMs)}:${h.digest('hex')}`;
}

export interface VerdictKey {
  file: string;
  variant: string;
  device: string;
  threads: number;
  ortVersion: string;
  /** The candidate rules tried (a forced call rule probes only itself). */
  rules: string;
}

/** The cache key: a sha256 over everything the verdict depends on. */
export function verdictKey(k: VerdictKey): string {
  const parts = {
    model: fileIdentity(k.file),
    data: fileIdentity(`${k.file}_data`),
    variant: k.variant, device: k.device, threads: k.threads, ort: k.ortVersion, rules: k.rules,
    cpu: `${process.arch} ${os.cpus()[0]?.model ?? ''}`, probe: PROBE_VERSION,
  };
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

function verdictFile(dir: string, key: string): string {
  return path.join(dir, 'exactness', `${key}.json`);
}

/** A cached verdict, or undefined when there is none or it cannot be read (then the probe runs again). */
export function readVerdict(dir: string, key: string): ExactnessVerdict | undefined {
  try {
    const v = JSON.parse(fs.readFileSync(verdictFile(dir, key), 'utf8')) as ExactnessVerdict;
    if (typeof v.exact !== 'boolean' || v.probeVersion !== PROBE_VERSION || !Array.isArray(v.results)) return undefined;
    return { ...v, cached: true, seconds: 0 };
  } catch {
    return undefined;
  }
}

/** Stores a verdict (write to a temporary name, then rename: a reader never sees half a file). Returns why not, if not. */
export function writeVerdict(dir: string, key: string, v: ExactnessVerdict): string | undefined {
  const file = verdictFile(dir, key);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(tmp, `${JSON.stringify({ ...v, cached: false }, null, 1)}\n`);
    fs.renameSync(tmp, file);
    return undefined;
  } catch (e) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // nothing to clean
    }
    return `could not store the exactness verdict in ${path.dirname(file)}: ${(e as Error).message}`;
  }
}
