/**
 * `lockstep bench serve`: K typists (bench/serve/load.ts) against `lockstep serve` on loopback — one server, then two
 * replicas with different drafters behind nginx hashing on X-Lockstep-Client (bench/serve/router.ts). Per (setup, K):
 * throughput, p50/p95 latency of completed answers, the queue's maximum (sampled from /metrics), 409/429/503 and error
 * counts, the servers' RSS with their engine processes. The replicas are started once per setup and reused for every
 * K, so a row's figures include the caches the earlier rows warmed (the run order is fixed: K ascending).
 */
import * as os from 'node:os';
import { type ReportHead, reportHead } from '../common';
import { type LoadResult, type RequestSettings, type Sample, runLoad } from './load';
import { type Replica, replicaRss, startReplica } from './procs';
import { type Router, findNginx, startRouter } from './router';

export const SERVE_DEFAULTS = {
  clients: [1, 4, 16, 64], keystrokes: 200, intervalMs: 50, jitterMs: 15, linePauseMs: 300, seed: 1, threads: 1,
  drafters: ['lockstep-drafter-a', 'lockstep-drafter-b'], maxTokens: 24, temperature: 0.2, mode: 'line' as const,
  samples: 8,
};
export const SERVE_QUICK = { clients: [1, 4], keystrokes: 24, maxTokens: 8, samples: 4 };

export type Setup = 'single' | 'router';

export interface ServeOptions {
  clients?: number[];
  keystrokes?: number;
  intervalMs?: number;
  jitterMs?: number;
  linePauseMs?: number;
  seed?: number;
  threads?: number;
  target?: string;
  /** The replicas' drafters: the single server runs the first; behind the router replica i runs drafters[i]. */
  drafters?: string[];
  maxTokens?: number;
  temperature?: number;
  mode?: RequestSettings['mode'];
  /** --queue of each server (default: the server's own). */
  queue?: number;
  samples?: number;
  /** Skip the router setup (no nginx, or only the single server wanted). */
  noRouter?: boolean;
  argv?: string[];
  onNote?: (line: string) => void;
}

/** A row: the load's counts and latencies (serveLoad.ts) as they are, plus the rates, queue and memory around them. */
export interface ServeRow extends Pick<LoadResult,
  'requests' | 'completed' | 'superseded' | 'status429' | 'status503' | 'errors' | 'errorNotes' | 'p50Ms' | 'p95Ms' | 'byReplica' | 'wallSeconds'> {
  setup: Setup;
  replicas: number;
  clients: number;
  keystrokes: number;
  completionsPerS: number;
  tokensPerS: number;
  /** Most requests waiting in one server's queue (/metrics: its all-time maximum when this row raised it, else the length sampled every 200 ms; null: no such metric). */
  queueMax: number | null;
  /** Peak RSS over the run, summed over the replicas: server processes and their engine processes (MiB). */
  serverRssMiB: number | null;
  engineRssMiB: number | null;
  /** Clients whose completed answers came from more than one replica (0 behind a working hash). */
  clientsOnSeveralReplicas: number;
}

export interface ServeReport extends ReportHead {
  settings: RequestSettings & { keystrokes: number; intervalMs: number; jitterMs: number; linePauseMs: number; drafters: string[]; target: string };
  /** Why the router setup did not run, when it did not. */
  routerSkipped: string | null;
  rows: ServeRow[];
  /** Answers kept for reproduction (`lockstep complete`), per row in order. */
  samples: (Sample & { setup: Setup; clients: number })[];
}

/** One sample line of Prometheus text: its name, labels and value. */
export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text → its samples (comments skipped). */
export function parseMetrics(text: string): MetricSample[] {
  const out: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const match = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const l of (match[2] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    const value = Number(match[3]);
    if (Number.isFinite(value)) out.push({ name: match[1], labels, value });
  }
  return out;
}

/** The sum of a metric's samples whose labels include `labels`; null when the metric is absent. */
export function metricSum(samples: readonly MetricSample[], name: string, labels: Record<string, string> = {}): number | null {
  const hits = samples.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return hits.length === 0 ? null : hits.reduce((a, x) => a + x.value, 0);
}

/** The route label of the server's native completion endpoint in lockstep_requests_total. */
export const COMPLETE_ROUTE = '/lockstep/v1/complete';

async function metricsOf(url: string): Promise<MetricSample[] | null> {
  try {
    const res = await fetch(`${url}/metrics`);
    return res.ok ? parseMetrics(await res.text()) : null;
  } catch {
    return null;
  }
}

export async function runServeBench(o: ServeOptions): Promise<ServeReport> {
  const t0 = performance.now();
  const d = SERVE_DEFAULTS;
  const drafters = o.drafters ?? d.drafters;
  const target = o.target ?? 'lockstep-target';
  const settings: RequestSettings = {
    seed: o.seed ?? d.seed, temperature: o.temperature ?? d.temperature, maxTokens: o.maxTokens ?? d.maxTokens,
    mode: o.mode ?? d.mode, coupling: 'gumbel',
  };
  const load = {
    keystrokes: o.keystrokes ?? d.keystrokes, intervalMs: o.intervalMs ?? d.intervalMs, jitterMs: o.jitterMs ?? d.jitterMs,
    linePauseMs: o.linePauseMs ?? d.linePauseMs,
  };
  const threads = o.threads ?? d.threads;
  const serverArgs = (drafter: string) => [
    '--target', target, '--drafter', drafter, '--threads', String(threads), ...(o.queue === undefined ? [] : ['--queue', String(o.queue)]),
  ];
  const rows: ServeRow[] = [];
  const samples: ServeReport['samples'] = [];
  let routerSkipped: string | null = o.noRouter ? 'not asked (--no-router)' : null;
  const setups: Setup[] = o.noRouter ? ['single'] : ['single', 'router'];
  for (const setup of setups) {
    let nginx: string | null = null;
    if (setup === 'router') {
      try {
        nginx = findNginx();
      } catch (e) {
        routerSkipped = (e as Error).message;
      }
      if (!nginx) {
        routerSkipped ??= 'nginx not found: set LOCKSTEP_NGINX, put nginx on the PATH (Debian: apt-get install nginx-light) or run test/router/setup.sh';
        o.onNote?.(`router setup skipped: ${routerSkipped}`);
        continue;
      }
    }
    const replicas: Replica[] = [];
    let router: Router | null = null;
    try {
      const count = setup === 'single' ? 1 : Math.max(2, drafters.length);
      for (let i = 0; i < count; i++) replicas.push(await startReplica(serverArgs(drafters[i % drafters.length])));
      if (setup === 'router' && nginx) router = await startRouter(nginx, replicas.map((r) => ({ host: r.host, port: r.port })));
      const url = router?.url ?? replicas[0].url;
      for (const k of o.clients ?? d.clients) {
        const row = await measure(setup, k, url, replicas, { ...load, seed: o.seed ?? d.seed, settings, samples: o.samples ?? d.samples });
        rows.push(row.row);
        samples.push(...row.samples.map((s) => ({ ...s, setup, clients: k })));
        o.onNote?.(`${setup} K=${k}: ${row.row.completed} completed, ${row.row.superseded} superseded, ${row.row.errors} errors, p50 ${row.row.p50Ms ?? '–'} ms`);
      }
    } finally {
      await router?.stop();
      await Promise.all(replicas.map((r) => r.stop()));
    }
  }
  const head = reportHead('serve', o.argv ?? ['bench', 'serve'], threads, {}, t0);
  return { ...head, settings: { ...settings, ...load, drafters, target }, routerSkipped, rows, samples };
}

async function measure(
  setup: Setup, clients: number, url: string, replicas: readonly Replica[],
  o: { keystrokes: number; intervalMs: number; jitterMs: number; linePauseMs: number; seed: number; settings: RequestSettings; samples: number },
): Promise<{ row: ServeRow; samples: Sample[] }> {
  let queueMax: number | null = null;
  // The server's own all-time maximum: when this row set a new one, it is the row's exact maximum (the 200 ms
  // samples of the current length can miss a peak).
  const maxBefore = await Promise.all(replicas.map(async (r) => metricSum((await metricsOf(r.url)) ?? [], 'lockstep_queue_length_max')));
  let serverRss: number | null = null;
  let engineRss: number | null = null;
  const onTick = async () => {
    for (const r of replicas) {
      const m = await metricsOf(r.url);
      const q = m ? metricSum(m, 'lockstep_queue_length') : null;
      if (q !== null) queueMax = Math.max(queueMax ?? 0, q);
    }
    const rss = replicas.map((r) => replicaRss(r.pid));
    if (rss.every((x) => x !== null)) {
      const s = rss.reduce((a, x) => a + (x?.serverMiB ?? 0), 0);
      const e = rss.reduce((a, x) => a + (x?.engineMiB ?? 0), 0);
      serverRss = Math.max(serverRss ?? 0, s);
      engineRss = Math.max(engineRss ?? 0, e);
    }
  };
  const r: LoadResult = await runLoad({ url, clients, ...o, onTick });
  await onTick();
  for (const [i, rep] of replicas.entries()) {
    const after = metricSum((await metricsOf(rep.url)) ?? [], 'lockstep_queue_length_max');
    const before = maxBefore[i];
    if (after !== null && (before === null || after > before)) queueMax = Math.max(queueMax ?? 0, after);
  }
  const round = (x: number | null) => (x === null ? null : Math.round(x));
  return {
    row: {
      setup, replicas: replicas.length, clients, keystrokes: o.keystrokes, requests: r.requests, completed: r.completed,
      superseded: r.superseded, status429: r.status429, status503: r.status503, errors: r.errors, errorNotes: r.errorNotes,
      completionsPerS: r.completed / r.wallSeconds, tokensPerS: r.tokens / r.wallSeconds, p50Ms: r.p50Ms, p95Ms: r.p95Ms,
      queueMax, serverRssMiB: round(serverRss), engineRssMiB: round(engineRss), byReplica: r.byReplica,
      clientsOnSeveralReplicas: Object.values(r.replicasPerClient).filter((x) => x.length > 1).length,
      wallSeconds: r.wallSeconds,
    },
    samples: r.samples,
  };
}

/** The table `lockstep bench serve` prints. */
export function formatServe(r: ServeReport): string {
  const f = (x: number | null, digits = 0) => (x === null ? '–' : x.toFixed(digits));
  const lines = [
    `lockstep bench serve — ${r.settings.target}, drafters ${r.settings.drafters.join(' / ')}, ${r.settings.keystrokes} keystrokes per client, ` +
      `${r.settings.maxTokens} tokens max, T = ${r.settings.temperature}, ${os.cpus().length} cores`,
    'setup   K  requests  done  superseded  429  503  err  compl/s  tok/s  p50 ms  p95 ms  queue max  RSS server+engine MiB',
  ];
  for (const x of r.rows) {
    lines.push([
      x.setup.padEnd(6), String(x.clients).padStart(3), String(x.requests).padStart(9), String(x.completed).padStart(5),
      String(x.superseded).padStart(11), String(x.status429).padStart(4), String(x.status503).padStart(4), String(x.errors).padStart(4),
      f(x.completionsPerS, 1).padStart(8), f(x.tokensPerS, 0).padStart(6), f(x.p50Ms).padStart(7), f(x.p95Ms).padStart(7),
      f(x.queueMax).padStart(10), `${f(x.serverRssMiB)}+${f(x.engineRssMiB)}`.padStart(22),
    ].join(' '));
  }
  if (r.routerSkipped) lines.push(`router setup not run: ${r.routerSkipped}`);
  for (const x of r.rows.filter((y) => y.errorNotes.length > 0)) lines.push(`${x.setup} K=${x.clients} errors: ${x.errorNotes.join('; ')}`);
  return `${lines.join('\n')}\n`;
}
