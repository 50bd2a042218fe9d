/**
 * What the soak benchmark watches besides the requests: this process's child processes and their memory (from
 * /proc), the worker threads started, forced-GC memory samples, and the CPU hog it runs against.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
// The module object itself (not an import wrapper with getters): its Worker property is replaced while counting.
import workerThreads = require('node:worker_threads');
import type { Series } from './types';

export interface ProcInfo {
  pid: number;
  ppid: number;
  state: string;
  comm: string;
}

export function processes(): ProcInfo[] | null {
  if (fs.existsSync('/proc/self/stat')) {
    const out: ProcInfo[] = [];
    for (const d of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
        const close = stat.lastIndexOf(')');
        const rest = stat.slice(close + 2).split(' ');
        out.push({ pid: Number(d), ppid: Number(rest[1]), state: rest[0], comm: stat.slice(stat.indexOf('(') + 1, close) });
      } catch {
        // gone meanwhile
      }
    }
    return out;
  }
  try {
    const text = execFileSync('ps', ['-A', '-o', 'pid=,ppid=,stat=,comm='], { encoding: 'utf8', timeout: 5000 });
    return text.trim().split('\n').map((l) => {
      const [pid, ppid, state, ...comm] = l.trim().split(/\s+/);
      return { pid: Number(pid), ppid: Number(ppid), state: state[0], comm: comm.join(' ') };
    });
  } catch {
    return null;
  }
}

/** Live (not zombie) child processes of this process, except `exclude`. */
export function childProcesses(exclude: ReadonlySet<number>): ProcInfo[] | null {
  const all = processes();
  return all === null ? null : all.filter((p) => p.ppid === process.pid && p.state !== 'Z' && !exclude.has(p.pid));
}

export function rssMiBOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Counts the worker threads started while installed (node has no public list of them). */
export class WorkerCounter {
  readonly live = new Set<object>();
  private readonly original = workerThreads.Worker;
  install(): void {
    const live = this.live;
    const Original = this.original;
    class CountedWorker extends Original {
      constructor(...args: ConstructorParameters<typeof Original>) {
        super(...args);
        live.add(this);
        this.once('exit', () => live.delete(this));
      }
    }
    (workerThreads as { Worker: typeof Original }).Worker = CountedWorker;
  }
  uninstall(): void {
    (workerThreads as { Worker: typeof workerThreads.Worker }).Worker = this.original;
  }
}

let gcFn: (() => void) | undefined;
/** global.gc, or the same function obtained with --expose-gc set at run time. */
export function forceGc(): void {
  if (!gcFn) {
    const g = (globalThis as { gc?: () => void }).gc;
    if (typeof g === 'function') gcFn = g;
    else {
      v8.setFlagsFromString('--expose-gc');
      gcFn = vm.runInNewContext('gc') as () => void;
    }
  }
  gcFn();
}

export function series(xs: number[]): Series {
  const r = (x: number) => Math.round(x * 10) / 10;
  return xs.length === 0
    ? { min: 0, max: 0, last: 0, series: [] }
    : { min: r(Math.min(...xs)), max: r(Math.max(...xs)), last: r(xs[xs.length - 1]), series: xs.map(r) };
}

// ---------------------------------------------------------------- CPU hog

export class CpuHog {
  private readonly children: ChildProcess[] = [];
  private readonly onExit = () => this.killNow();
  constructor(readonly count: number, boundMs: number) {
    // Each stops by itself after boundMs even if this process dies without killing it.
    const script = `const end = Date.now() + ${Math.ceil(boundMs)}; while (Date.now() < end) {}`;
    for (let i = 0; i < count; i++) this.children.push(spawn(process.execPath, ['-e', script], { stdio: 'ignore' }));
    process.once('exit', this.onExit);
  }
  get pids(): number[] {
    return this.children.flatMap((c) => (c.pid === undefined ? [] : [c.pid]));
  }
  private killNow(): void {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
  async stop(): Promise<void> {
    process.removeListener('exit', this.onExit);
    const exited = this.children.map((c) =>
      c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((res) => c.once('exit', () => res())));
    this.killNow();
    await Promise.all(exited);
  }
}

// ---------------------------------------------------------------- the extension
