/**
 * The clients of `lockstep bench serve`: K typists, each retyping its own held-out file at the soak benchmark's pace
 * (bench/soak/typing.ts keystrokeDelays). Every keystroke sends a new completion request with the client's id in
 * X-Lockstep-Client and does not wait for the previous one: the server's latest-wins rule replaces a client's waiting
 * request, as the editor's cancellation does. Every answer is classified once, so the counts add up to the requests.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fixtureDir } from '../../src/cli/prompts';
import { quantile } from '../common';
import { CLIENT_HEADER, UPSTREAM_HEADER } from './router';
import { keystrokeDelays } from '../soak/typing';
import type { CouplingKind } from '../../src/engine/decode/couplings/registry';

/** What a typist sends besides the text around its cursor (the engine's CompletionRequest fields). */
export interface RequestSettings {
  seed: number;
  temperature: number;
  maxTokens: number;
  mode: 'line' | 'block' | 'free';
  coupling: CouplingKind;
}

export interface LoadOptions {
  url: string;
  clients: number;
  keystrokes: number;
  intervalMs: number;
  jitterMs: number;
  linePauseMs: number;
  seed: number;
  settings: RequestSettings;
  token?: string;
  /** Answers kept with their request for reproduction (the first completed ones, round-robin over clients). */
  samples: number;
  /** Called every ~200 ms while the load runs (the caller polls /metrics and RSS). */
  onTick?: () => Promise<void>;
}

export type AnswerKind = 'completed' | 'superseded' | 'status429' | 'status503' | 'error';

export interface Sample {
  client: string;
  text: string;
  /** Which replica answered (the router's X-Lockstep-Upstream, or the server's URL without a router). */
  replica: string;
  /** The server's reproduction line (lockstep.reproduce) and the request as it ran (lockstep.request: `complete --request`). */
  reproduce: string;
  served: unknown;
}

export interface LoadResult {
  requests: number;
  completed: number;
  superseded: number;
  status429: number;
  status503: number;
  errors: number;
  /** The first few error lines (status and reason), for the report. */
  errorNotes: string[];
  tokens: number;
  wallSeconds: number;
  p50Ms: number | null;
  p95Ms: number | null;
  /** Completed answers per replica (router header, or the one URL). */
  byReplica: Record<string, number>;
  /** Replicas that answered each client (affinity: one per client behind the router). */
  replicasPerClient: Record<string, string[]>;
  samples: Sample[];
}

/** The text client `i` retypes: held-out file i mod n, from the line at a quarter of the file. */
export function clientText(i: number, count: number): { before: string; typed: string; after: string } {
  const dir = path.join(fixtureDir(), 'heldout');
  const files = fs.readdirSync(dir).filter((f) => /\.(js|ts)\.txt$/.test(f)).sort();
  const text = fs.readFileSync(path.join(dir, files[i % files.length]), 'utf8').replace(/\r\n/g, '\n');
  const from = text.lastIndexOf('\n', Math.floor(text.length / 4)) + 1;
  const typed = text.slice(from, Math.min(text.length, from + count));
  return { before: text.slice(0, from), typed, after: text.slice(from + typed.length) };
}

/** The client ids of a run: stable, so a rerun hashes each client to the same replica. */
export function clientId(i: number): string {
  return `typist-${String(i + 1).padStart(2, '0')}`;
}

interface Pending {
  client: string;
  body: Record<string, unknown>;
  t0: number;
}

/** Runs the typists to the end and waits for every answer. */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const r: LoadResult = {
    requests: 0, completed: 0, superseded: 0, status429: 0, status503: 0, errors: 0, errorNotes: [], tokens: 0,
    wallSeconds: 0, p50Ms: null, p95Ms: null, byReplica: {}, replicasPerClient: {}, samples: [],
  };
  const latencies: number[] = [];
  const inFlight = new Set<Promise<void>>();
  const sampledPerClient = new Map<string, number>();
  const t0 = performance.now();
  let ticking = true;
  const ticker = (async () => {
    while (ticking) {
      await o.onTick?.();
      await new Promise((res) => setTimeout(res, 200));
    }
  })();

  const answer = async (p: Pending): Promise<void> => {
    let kind: AnswerKind = 'error';
    try {
      const headers: Record<string, string> = { 'content-type': 'application/json', [CLIENT_HEADER]: p.client };
      if (o.token) headers.authorization = `Bearer ${o.token}`;
      const res = await fetch(`${o.url}/lockstep/v1/complete`, { method: 'POST', headers, body: JSON.stringify(p.body) });
      const ms = performance.now() - p.t0;
      const raw = await res.text();
      const replica = res.headers.get(UPSTREAM_HEADER.toLowerCase()) ?? o.url;
      kind = classify(res.status, raw);
      if (kind === 'completed') {
        const body = JSON.parse(raw) as { text: string; result?: { tokens?: number }; lockstep?: { reproduce?: string; request?: unknown } };
        latencies.push(ms);
        r.tokens += body.result?.tokens ?? 0;
        r.byReplica[replica] = (r.byReplica[replica] ?? 0) + 1;
        const seen = r.replicasPerClient[p.client] ?? (r.replicasPerClient[p.client] = []);
        if (!seen.includes(replica)) seen.push(replica);
        const n = sampledPerClient.get(p.client) ?? 0;
        // Round-robin over clients: at most ceil(samples / clients) per client.
        if (r.samples.length < o.samples && n < Math.ceil(o.samples / o.clients)) {
          sampledPerClient.set(p.client, n + 1);
          r.samples.push({ client: p.client, text: body.text, replica, reproduce: body.lockstep?.reproduce ?? '', served: body.lockstep?.request ?? null });
        }
      } else if (kind === 'error' && r.errorNotes.length < 5) {
        r.errorNotes.push(`${res.status} ${raw.slice(0, 160).replace(/\s+/g, ' ')}`);
      }
    } catch (e) {
      if (r.errorNotes.length < 5) r.errorNotes.push((e as Error).message);
    }
    r[kind === 'error' ? 'errors' : kind]++;
  };

  await Promise.all(Array.from({ length: o.clients }, async (_, i) => {
    const client = clientId(i);
    const { before, typed, after } = clientText(i, o.keystrokes);
    const delays = keystrokeDelays(typed, { intervalMs: o.intervalMs, jitterMs: o.jitterMs, linePauseMs: o.linePauseMs, seed: o.seed + i });
    for (let k = 0; k < typed.length; k++) {
      await new Promise((res) => setTimeout(res, delays[k]));
      const body = requestBody(before + typed.slice(0, k + 1), typed.slice(k + 1) + after, o.settings);
      r.requests++;
      const p = answer({ client, body, t0: performance.now() });
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }
  }));
  while (inFlight.size > 0) await Promise.all([...inFlight]);
  r.wallSeconds = (performance.now() - t0) / 1000;
  ticking = false;
  await ticker;
  if (latencies.length > 0) {
    r.p50Ms = Math.round(quantile(latencies, 0.5));
    r.p95Ms = Math.round(quantile(latencies, 0.95));
  }
  return r;
}

/** The engine's CompletionRequest for a cursor between `before` and `after` (the server picks the drafter). */
export function requestBody(before: string, after: string, s: RequestSettings): Record<string, unknown> {
  return {
    before, after, coupling: s.coupling, seed: s.seed, sampling: { temperature: s.temperature, topK: 0, topP: 1 },
    gamma: 'auto', maxTokens: s.maxTokens, mode: s.mode,
  };
}

/**
 * One answer's kind. A request replaced by its client's newer one (latest wins) is `superseded`: the server answers
 * it with a cancelled result or a 409; a full queue is 503 (Retry-After), a rate limit 429; anything else not 200 is
 * an error.
 */
export function classify(status: number, raw: string): AnswerKind {
  if (status === 429) return 'status429';
  if (status === 503) return 'status503';
  if (status === 409 || status === 499) return 'superseded';
  if (status !== 200) return 'error';
  try {
    const body = JSON.parse(raw) as { text?: unknown; result?: { cancelled?: boolean }; superseded?: boolean };
    if (body.superseded === true || body.result?.cancelled === true) return 'superseded';
    return typeof body.text === 'string' ? 'completed' : 'error';
  } catch {
    return 'error';
  }
}
