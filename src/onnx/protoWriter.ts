/**
 * Protobuf wire format for ONNX files that may be gigabytes: a message is a tree of parts whose sizes are known up
 * front, and big byte strings are produced only when written (`LazyBytes`), so a model is streamed to disk tensor by
 * tensor instead of being assembled in memory.
 */
import * as fs from 'node:fs';

/** Bytes made on demand; `length` must be exact (the enclosing messages' lengths are written before them). */
export interface LazyBytes {
  readonly length: number;
  make(): Uint8Array;
}

type Part = Uint8Array | { lazy: LazyBytes } | { field: number; msg: ProtoMessage };

export class ProtoMessage {
  private readonly parts: Part[] = [];
  private small: number[] = [];

  /** Varint field (wire type 0); negative int64 values use ten bytes, two's complement, as protobuf does. */
  varint(field: number, value: number | bigint): this {
    this.tag(field, 0);
    pushVarint(this.small, value);
    return this;
  }

  /** 32-bit float field (wire type 5). */
  float(field: number, value: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    for (const x of b) this.small.push(x);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2);
    pushVarint(this.small, b.length);
    if (b.length < 4096) for (const x of b) this.small.push(x);
    else this.part(b);
    return this;
  }

  lazy(field: number, b: LazyBytes): this {
    this.tag(field, 2);
    pushVarint(this.small, b.length);
    this.part({ lazy: b });
    return this;
  }

  message(field: number, msg: ProtoMessage): this {
    this.flush();
    this.parts.push({ field, msg });
    return this;
  }

  /** Encoded size in bytes. */
  size(): number {
    this.flush();
    let n = 0;
    for (const p of this.parts) {
      if (p instanceof Uint8Array) n += p.length;
      else if ('lazy' in p) n += p.lazy.length;
      else {
        const s = p.msg.size();
        n += varintLength((p.field << 3) | 2) + varintLength(s) + s;
      }
    }
    return n;
  }

  /** Writes the encoding to `sink` in order (lazy parts are made then). */
  emit(sink: (b: Uint8Array) => void): void {
    this.flush();
    for (const p of this.parts) {
      if (p instanceof Uint8Array) sink(p);
      else if ('lazy' in p) {
        const b = p.lazy.make();
        if (b.length !== p.lazy.length) throw new Error(`lazy bytes gave ${b.length} bytes, announced ${p.lazy.length}`);
        sink(b);
      } else {
        const head: number[] = [];
        pushVarint(head, (p.field << 3) | 2);
        pushVarint(head, p.msg.size());
        sink(Uint8Array.from(head));
        p.msg.emit(sink);
      }
    }
  }

  /** The whole encoding in memory (small messages only). */
  encode(): Uint8Array {
    const out = new Uint8Array(this.size());
    let at = 0;
    this.emit((b) => {
      out.set(b, at);
      at += b.length;
    });
    return out;
  }

  private tag(field: number, wire: number): void {
    pushVarint(this.small, field * 8 + wire);
  }

  private part(p: Part): void {
    this.flush();
    this.parts.push(p);
  }

  private flush(): void {
    if (this.small.length === 0) return;
    this.parts.push(Uint8Array.from(this.small));
    this.small = [];
  }
}

function pushVarint(out: number[], value: number | bigint): void {
  let v = BigInt.asUintN(64, BigInt(value));
  if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new RangeError(`varint out of range: ${value}`);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}

function varintLength(value: number): number {
  let n = 1;
  for (let v = value; v >= 0x80; v = Math.floor(v / 0x80)) n++;
  return n;
}

/** A file written through a 4 MiB buffer; returns the bytes written. */
export class FileSink {
  private readonly fd: number;
  private readonly buf = Buffer.allocUnsafe(4 << 20);
  private used = 0;
  written = 0;

  constructor(file: string) {
    this.fd = fs.openSync(file, 'w');
  }

  write = (b: Uint8Array): void => {
    this.written += b.length;
    if (this.used + b.length > this.buf.length) this.drain();
    if (b.length >= this.buf.length) {
      writeAll(this.fd, b);
      return;
    }
    this.buf.set(b, this.used);
    this.used += b.length;
  };

  close(): void {
    this.drain();
    fs.closeSync(this.fd);
  }

  private drain(): void {
    if (this.used > 0) writeAll(this.fd, this.buf.subarray(0, this.used));
    this.used = 0;
  }
}

function writeAll(fd: number, b: Uint8Array): void {
  for (let off = 0; off < b.length; ) off += fs.writeSync(fd, b, off, b.length - off);
}
