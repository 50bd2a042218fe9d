/**
 * `lockstep serve` replicas as separate processes, for `lockstep bench serve` and test/server/router.test.ts: start
 * one on a port of its choosing (it prints the address it listens on), wait until /health says ready, read the
 * memory of it and its engine process (Linux /proc), stop it with SIGTERM as a service manager would.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The CLI's entry: dist/cli.js next to the bundle (dist/bench.js), out/src/cli/index.js in the compiled tree. */
export function cliScript(): string {
  // A bundle is told by the engine process next to it (the compiled tree's out/bench/ holds bench/cli.ts's cli.js).
  const bundled = fs.existsSync(path.join(__dirname, 'engineProcess.js')) ? [path.join(__dirname, 'cli.js')] : [];
  const candidates = [...bundled, path.join(__dirname, '..', '..', 'src', 'cli', 'index.js')];
  const found = candidates.find((f) => fs.existsSync(f));
  if (!found) throw new Error(`the lockstep CLI is not built (looked for ${candidates.join(', ')})`);
  return found;
}

export interface Replica {
  url: string;
  host: string;
  port: number;
  pid: number;
  /** Everything it wrote to stderr so far (start-up notes, errors). */
  log(): string;
  stop(): Promise<void>;
}

const LISTENING = /lockstep serve: listening on (http:\/\/([^\s:/]+|\[[^\]]+\]):(\d+))/;

/**
 * Starts `lockstep serve --host 127.0.0.1 --port 0 ARGS…` and resolves once it listens and /health answers 200
 * (the engine has loaded its models); rejects with its output if it exits or `timeoutMs` passes first.
 */
export async function startReplica(args: readonly string[], o: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Replica> {
  // Without node --test's marker: a child that inherits it reports to the test runner instead of running.
  const { NODE_TEST_CONTEXT: _, ...env } = o.env ?? process.env;
  const child = spawn(process.execPath, [cliScript(), 'serve', '--host', '127.0.0.1', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'], env,
  });
  let out = '';
  let err = '';
  child.stderr?.on('data', (b: Buffer) => void (err += b.toString()));
  const timeoutMs = o.timeoutMs ?? 180_000;
  const deadline = Date.now() + timeoutMs;
  const url = await new Promise<string>((resolve, reject) => {
    const check = () => {
      const m = LISTENING.exec(out) ?? LISTENING.exec(err);
      if (m) {
        cleanup();
        resolve(m[1]);
      }
    };
    const onExit = () => {
      cleanup();
      reject(new Error(`lockstep serve ${args.join(' ')} exited (${child.exitCode ?? child.signalCode}) before listening:\n${out}${err}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      child.kill('SIGKILL');
      reject(new Error(`lockstep serve ${args.join(' ')} did not listen within ${timeoutMs} ms:\n${out}${err}`));
    }, timeoutMs);
    const onData = (b: Buffer) => {
      out += b.toString();
      check();
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', check);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', check);
    child.once('exit', onExit);
  });
  const u = new URL(url);
  const replica: Replica = {
    url, host: u.hostname, port: Number(u.port), pid: child.pid ?? -1,
    log: () => err, stop: () => stopProcess(child),
  };
  // Keep draining stdout so the child never blocks on a full pipe.
  child.stdout?.on('data', () => undefined);
  while (true) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`lockstep serve exited while loading:\n${err}`);
    const status = await fetch(`${url}/health`).then((r) => r.status, () => 0);
    if (status === 200) return replica;
    if (Date.now() > deadline) {
      await replica.stop();
      throw new Error(`lockstep serve at ${url}: /health not ready within ${timeoutMs} ms (last status ${status}):\n${err}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** SIGTERM (the server's graceful shutdown), SIGKILL to it and what it left after `graceMs`. */
export function stopProcess(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const pid = child.pid ?? -1;
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      for (const p of descendants(pid)) killQuietly(p);
      child.kill('SIGKILL');
    }, graceMs);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** The parent pid of each process (Linux /proc); empty elsewhere. */
function parents(): Map<number, number> {
  const m = new Map<number, number>();
  let names: string[];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return m;
  }
  for (const n of names) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${n}/stat`, 'utf8');
      // The command name (field 2) is in parentheses and may hold spaces: the ppid is the 2nd field after ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      m.set(Number(n), ppid);
    } catch {
      // exited while we looked
    }
  }
  return m;
}

/** Every process below `pid` (children, grandchildren …). */
export function descendants(pid: number): number[] {
  const ppid = parents();
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of ppid) {
      if (pp === p) {
        out.push(c);
        walk(c);
      }
    }
  };
  walk(pid);
  return out;
}

/** Resident memory of one process in MiB (VmRSS), or null when it is gone or not on Linux. */
export function rssMiB(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** RSS of a replica: its own process and its engine process(es) (MiB), null off Linux. */
export function replicaRss(pid: number): { serverMiB: number; engineMiB: number } | null {
  const own = rssMiB(pid);
  if (own === null) return null;
  let engine = 0;
  for (const p of descendants(pid)) engine += rssMiB(p) ?? 0;
  return { serverMiB: own, engineMiB: engine };
}
