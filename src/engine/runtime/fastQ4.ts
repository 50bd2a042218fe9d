/**
 * onnx-community's q4 / q4f16 files carry no `accuracy_level` on their com.microsoft MatMulNBits nodes, so
 * onnxruntime's CPU provider dequantizes to fp32 and runs a float GEMM (8× slower per call on the 0.5B stand-in than
 * with accuracy_level 4, see docs/performance.md, "Real-size costs"). No session option changes it, so at load the engine uses a
 * patched copy of the .onnx with `accuracy_level = 4` added to those nodes, made once into a cache folder.
 *
 * The patch streams: only the changed NodeProtos and the length prefixes around them (GraphProto's in ModelProto) are
 * re-encoded; every other byte, initializers included, is copied as it is. External data files are hard-linked next
 * to the copy (onnxruntime refuses absolute locations and symbolic links that leave the model's folder).
 * The original file is never written.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { lockstepCacheDir } from './cacheDir';

/** Bumped when the patched bytes would change: old cache entries are then not reused. */
export const FAST_Q4_PATCH_VERSION = 1;
export const FAST_Q4_ACCURACY_LEVEL = 4;

export interface FastQ4Result {
  /** The file to load: the patched copy, or the original when nothing was patched. */
  file: string;
  /** MatMulNBits nodes given accuracy_level in the copy (0: the original is used). */
  patchedNodes: number;
  /** What happened, for EngineInfo's notes (null when the model has no such node). */
  note: string | null;
}

/** Where a file's patched copies live: one folder per original path, one subfolder per version of its bytes. */
function entryDir(root: string, file: string, st: fs.Stats, fd: number): { pathDir: string; dir: string } {
  const pathDir = path.join(root, 'fast-q4', sha(path.resolve(file)).slice(0, 16));
  const h = createHash('sha256');
  h.update(`${FAST_Q4_PATCH_VERSION}:${FAST_Q4_ACCURACY_LEVEL}:${st.size}:${st.mtimeMs}:`);
  const n = Math.min(65536, st.size);
  const b = Buffer.alloc(n);
  fs.readSync(fd, b, 0, n, 0);
  h.update(b);
  fs.readSync(fd, b, 0, n, st.size - n);
  h.update(b);
  return { pathDir, dir: path.join(pathDir, h.digest('hex').slice(0, 16)) };
}

/**
 * The file to load for `file` on the CPU: a cached copy with accuracy_level 4 on every MatMulNBits node that has none,
 * or `file` itself when it has no such node or the copy cannot be made (the note says why; loading goes on).
 */
export function fastQ4File(file: string, cacheDir: string = lockstepCacheDir()): FastQ4Result {
  const fd = fs.openSync(file, 'r');
  try {
    const st = fs.fstatSync(fd);
    const { pathDir, dir } = entryDir(cacheDir, file, st, fd);
    const copy = path.join(dir, path.basename(file));
    const reader = new Reader(fd, st.size);
    let plan: PatchPlan;
    try {
      plan = scanModel(reader);
    } catch {
      // Not a protobuf we can read: onnxruntime's own load error is the one to show.
      return { file, patchedNodes: 0, note: null };
    }
    if (plan.nodes === 0) return { file, patchedNodes: 0, note: null };
    const why = `${plan.nodes} MatMulNBits nodes have no accuracy_level (onnxruntime's CPU provider then dequantizes to fp32)`;
    try {
      fs.mkdirSync(dir, { recursive: true });
      linkExternalData(path.dirname(file), dir, plan.external);
      const reused = fs.existsSync(copy);
      if (!reused) writeAtomically(copy, (out) => copyWithEdits(reader, out, plan.edits));
      for (const other of fs.readdirSync(pathDir)) {
        if (other !== path.basename(dir)) fs.rmSync(path.join(pathDir, other), { recursive: true, force: true });
      }
      const note = `${path.basename(file)}: ${why}; using a copy with accuracy_level ${FAST_Q4_ACCURACY_LEVEL} (${reused ? 'cached' : 'made now'}: ${copy})`;
      return { file: copy, patchedNodes: plan.nodes, note };
    } catch (e) {
      return { file, patchedNodes: 0, note: `${path.basename(file)}: ${why}; no patched copy (${(e as Error).message}), the slow path is used` };
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Hard links each external data file into the copy's folder (relinked when the original was replaced). */
function linkExternalData(srcDir: string, dstDir: string, locations: Set<string>): void {
  for (const loc of locations) {
    if (path.isAbsolute(loc) || loc.split(/[\\/]/).includes('..')) throw new Error(`external data location "${loc}" leaves the model folder`);
    const src = fs.realpathSync(path.join(srcDir, loc));
    const dst = path.join(dstDir, loc);
    const have = fs.statSync(dst, { throwIfNoEntry: false });
    const want = fs.statSync(src);
    if (have && have.ino === want.ino && have.dev === want.dev) continue;
    fs.mkdirSync(path.dirname(dst), { recursive: true });
    const tmp = `${dst}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    fs.linkSync(src, tmp);
    fs.renameSync(tmp, dst);
  }
}

function writeAtomically(file: string, write: (fd: number) => void): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    write(fd);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
}

/** Replace bytes [start, end) of the original by `bytes`. */
interface Edit {
  start: number;
  end: number;
  bytes: Uint8Array;
}

export interface PatchPlan {
  edits: Edit[];
  nodes: number;
  /** External data locations of the graph's initializers, relative to the model's folder. */
  external: Set<string>;
}

/** AttributeProto { name: "accuracy_level", type: INT, i: 4 } as a NodeProto.attribute field (5). */
const ACCURACY_ATTRIBUTE: Uint8Array = (() => {
  const name = Buffer.from('accuracy_level');
  const attr = Buffer.concat([Buffer.from([0x0a, name.length]), name, Buffer.from([0x18, FAST_Q4_ACCURACY_LEVEL, 0xa0, 0x01, 2])]);
  return Buffer.concat([Buffer.from([0x2a, attr.length]), attr]);
})();

/** Finds ModelProto.graph (7), its nodes (1) to patch and its initializers' (5) external data locations. */
export function scanModel(r: Reader): PatchPlan {
  const edits: Edit[] = [];
  const external = new Set<string>();
  let nodes = 0;
  let graphSeen = false;
  for (const f of r.fields(0, r.size)) {
    if (f.field !== 7 || f.wire !== 2) continue;
    if (graphSeen) throw new Error('the file has two graph fields; not patched');
    graphSeen = true;
    const graphEdits: Edit[] = [];
    let delta = 0;
    for (const g of r.fields(f.start, f.end)) {
      if (g.wire !== 2) continue;
      if (g.field === 1) {
        const body = r.bytes(g.start, g.end - g.start);
        if (!needsAccuracyLevel(body)) continue;
        const patched = Buffer.concat([varintBytes(body.length + ACCURACY_ATTRIBUTE.length), body, ACCURACY_ATTRIBUTE]);
        graphEdits.push({ start: g.lenPos, end: g.end, bytes: patched });
        delta += patched.length - (g.end - g.lenPos);
        nodes++;
      } else if (g.field === 5) {
        const loc = externalLocation(r, g.start, g.end);
        if (loc !== null) external.add(loc);
      }
    }
    if (graphEdits.length > 0) edits.push({ start: f.lenPos, end: f.start, bytes: varintBytes(f.end - f.start + delta) }, ...graphEdits);
  }
  if (!graphSeen) throw new Error('not an ONNX model (no graph)');
  return { edits, nodes, external };
}

/** A MatMulNBits node of the com.microsoft domain without an accuracy_level attribute. */
function needsAccuracyLevel(node: Uint8Array): boolean {
  const r = Reader.ofBytes(node);
  let op = '';
  let domain = '';
  let hasLevel = false;
  for (const f of r.fields(0, node.length)) {
    if (f.wire !== 2) continue;
    if (f.field === 4) op = r.text(f.start, f.end);
    else if (f.field === 7) domain = r.text(f.start, f.end);
    else if (f.field === 5) {
      for (const a of r.fields(f.start, f.end)) if (a.field === 1 && a.wire === 2 && r.text(a.start, a.end) === 'accuracy_level') hasLevel = true;
    }
  }
  return op === 'MatMulNBits' && domain === 'com.microsoft' && !hasLevel;
}

/** TensorProto.external_data (13) "location" entry, read without touching raw_data. */
function externalLocation(r: Reader, start: number, end: number): string | null {
  for (const f of r.fields(start, end)) {
    if (f.field !== 13 || f.wire !== 2) continue;
    let key = '';
    let value = '';
    for (const e of r.fields(f.start, f.end)) {
      if (e.wire !== 2) continue;
      if (e.field === 1) key = r.text(e.start, e.end);
      else if (e.field === 2) value = r.text(e.start, e.end);
    }
    if (key === 'location') return value;
  }
  return null;
}

function copyWithEdits(r: Reader, out: number, edits: Edit[]): void {
  let pos = 0;
  for (const e of edits) {
    r.copyTo(out, pos, e.start);
    fs.writeSync(out, e.bytes);
    pos = e.end;
  }
  r.copyTo(out, pos, r.size);
}

export function varintBytes(value: number): Buffer {
  const out: number[] = [];
  let v = value;
  for (; v >= 0x80; v = Math.floor(v / 0x80)) out.push((v % 0x80) | 0x80);
  out.push(v);
  return Buffer.from(out);
}

function sha(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

interface Field {
  field: number;
  wire: number;
  /** Where a length-delimited field's length varint starts. */
  lenPos: number;
  /** The value's bytes (for varints and fixed-size values: their position). */
  start: number;
  end: number;
}

/** Positioned reads of a file (or a buffer) through a small window: never the whole file in memory. */
export class Reader {
  private readonly win: Buffer;
  private winStart = 0;
  private winLen = 0;

  constructor(private readonly fd: number | null, readonly size: number, private readonly data?: Uint8Array) {
    this.win = data ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.alloc(1 << 16);
    if (data) this.winLen = data.length;
  }

  static ofBytes(b: Uint8Array): Reader {
    return new Reader(null, b.length, b);
  }

  byte(pos: number): number {
    if (pos >= this.size) throw new Error('truncated protobuf (not an ONNX model?)');
    if (pos < this.winStart || pos >= this.winStart + this.winLen) {
      this.winStart = pos;
      this.winLen = fs.readSync(this.fd as number, this.win, 0, this.win.length, pos);
    }
    return this.win[pos - this.winStart];
  }

  bytes(pos: number, n: number): Buffer {
    if (pos + n > this.size) throw new Error('truncated protobuf (not an ONNX model?)');
    if (this.data) return Buffer.from(this.data.subarray(pos, pos + n));
    const b = Buffer.alloc(n);
    fs.readSync(this.fd as number, b, 0, n, pos);
    return b;
  }

  text(start: number, end: number): string {
    return this.bytes(start, end - start).toString('utf8');
  }

  varint(pos: number): { value: number; next: number } {
    let value = 0;
    let scale = 1;
    for (let p = pos; p < pos + 10; p++) {
      const b = this.byte(p);
      value += (b & 0x7f) * scale;
      scale *= 128;
      if (b < 0x80) return { value, next: p + 1 };
    }
    throw new Error('bad varint (not an ONNX model?)');
  }

  /** The fields of the message in [start, end). */
  *fields(start: number, end: number): Generator<Field> {
    let pos = start;
    while (pos < end) {
      const tag = this.varint(pos);
      const field = Math.floor(tag.value / 8);
      const wire = tag.value % 8;
      const lenPos = tag.next;
      let s = tag.next;
      let e: number;
      if (wire === 0) e = this.varint(s).next;
      else if (wire === 1) e = s + 8;
      else if (wire === 5) e = s + 4;
      else if (wire === 2) {
        const len = this.varint(lenPos);
        s = len.next;
        e = s + len.value;
      } else throw new Error(`unsupported protobuf wire type ${wire} (not an ONNX model?)`);
      if (e > end) throw new Error('truncated protobuf (not an ONNX model?)');
      yield { field, wire, lenPos, start: s, end: e };
      pos = e;
    }
  }

  copyTo(out: number, from: number, to: number): void {
    if (this.data) {
      fs.writeSync(out, this.data.subarray(from, to));
      return;
    }
    const buf = Buffer.alloc(Math.min(1 << 22, Math.max(1, to - from)));
    for (let p = from; p < to; ) {
      const n = fs.readSync(this.fd as number, buf, 0, Math.min(buf.length, to - p), p);
      if (n <= 0) throw new Error('the model file shrank while it was copied');
      fs.writeSync(out, buf.subarray(0, n));
      p += n;
    }
  }
}
