/**
 * `lockstep bench serve`: its options, help and command (registered in bench/cli.ts). Same conventions as the other
 * benchmarks: a table or --json, the JSON result in --out (.bench-results/quick with --quick), no figure.
 */
import * as path from 'node:path';
import * as A from '../../src/cli/args';
import { UsageError } from '../../src/cli/args';
import { type CliIo, EXIT_STATUS_HELP } from '../../src/cli/io';
import { writeJson } from '../common';
import { SERVE_DEFAULTS, SERVE_QUICK, formatServe, runServeBench } from './serve';

const HEAD = 'lockstep bench serve [options] — K concurrent typists against `lockstep serve` on loopback: each keystroke sends a\n' +
  'completion request with the client\'s X-Lockstep-Client id (a newer one replaces the client\'s waiting one). First one\n' +
  'server, then two replicas with different drafters behind nginx hashing on that header (docs/serve.md). Per K:\n' +
  'completions/s, tokens/s, p50/p95 latency, queue maximum (/metrics), superseded/429/503/error counts, RSS of the\n' +
  'servers and their engine processes. nginx: LOCKSTEP_NGINX, the PATH, or test/router/setup.sh\'s cached copy.';

const MS = (max: number) => A.numberIn({ min: 0, max, describe: `a number from 0 to ${max}` });

export const serveDefs = {
  help: A.flag('show this help', 'h'),
  debug: A.flag('print stack traces on errors'),
  json: A.flag('print one JSON object (with a `rows` array) instead of the table'),
  quick: A.flag(`a small run: K = ${SERVE_QUICK.clients.join(',')}, ${SERVE_QUICK.keystrokes} keystrokes, ${SERVE_QUICK.maxTokens} tokens (default --out .bench-results/quick)`),
  out: A.single(A.str, 'DIR', 'where the JSON result goes (default .bench-results, or .bench-results/quick with --quick)'),
  quiet: A.flag('no progress lines on stderr'),
  clients: A.repeated(A.positiveInt, 'K', `concurrent clients (repeatable or comma list; default ${SERVE_DEFAULTS.clients.join(',')})`),
  keystrokes: A.single(A.positiveInt, 'N', `keystrokes per client (default ${SERVE_DEFAULTS.keystrokes})`),
  interval: A.single(MS(10_000), 'MS', `mean keystroke interval (default ${SERVE_DEFAULTS.intervalMs})`),
  jitter: A.single(MS(10_000), 'MS', `each interval uniform in interval ± jitter (default ${SERVE_DEFAULTS.jitterMs})`),
  'line-pause': A.single(MS(60_000), 'MS', `extra pause after a newline (default ${SERVE_DEFAULTS.linePauseMs})`),
  seed: A.single(A.seed, 'N', `the requests' seed and the keystroke jitter's (default ${SERVE_DEFAULTS.seed})`),
  target: A.single(A.str, 'MODEL', 'the servers\' --target (default lockstep-target)'),
  drafter: A.repeated(A.str, 'DRAFTER', `the replicas' drafters: the single server runs the first (default ${SERVE_DEFAULTS.drafters.join(',')})`),
  threads: A.single(A.threads, 'N', `each server's --threads (default ${SERVE_DEFAULTS.threads})`),
  'max-tokens': A.single(A.maxTokens, 'N', `tokens per completion (default ${SERVE_DEFAULTS.maxTokens})`),
  temperature: A.single(A.temperature, 'T', `sampling temperature (default ${SERVE_DEFAULTS.temperature})`),
  mode: A.single(A.choice(['line', 'block', 'free'] as const), 'MODE', `stop rule (default ${SERVE_DEFAULTS.mode})`),
  queue: A.single(A.positiveInt, 'N', 'each server\'s --queue (default: the server\'s)'),
  samples: A.single(A.numberIn({ min: 0, max: 1000, integer: true, describe: 'an integer from 0 to 1000' }), 'N',
    `completed answers per row kept with their request for reproduction (default ${SERVE_DEFAULTS.samples})`),
  'no-router': A.flag('only the single server (no nginx)'),
};

export function serveHelp(): string {
  return `${HEAD}\n\nOptions:\n${A.describeOptions(serveDefs)}\n\n${EXIT_STATUS_HELP}`;
}

type Opts = Record<string, unknown>;

/** Exit status 1 when a request failed (an error answer): the figures are still written. */
export async function serveBenchCommand(argv: string[], io: CliIo): Promise<number> {
  const { options, positionals } = A.parseArgs(argv, serveDefs);
  const o = options as Opts;
  if (o.help) {
    io.stdout(`${serveHelp()}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`bench serve takes no arguments (got '${positionals[0]}')`);
  const quick = o.quick === true;
  const list = (x: unknown) => (Array.isArray(x) && x.length > 0 ? (x as number[]) : undefined);
  const drafters = Array.isArray(o.drafter) && o.drafter.length > 0 ? (o.drafter as string[]) : undefined;
  const r = await runServeBench({
    clients: list(o.clients) ?? (quick ? SERVE_QUICK.clients : undefined),
    keystrokes: (o.keystrokes as number | undefined) ?? (quick ? SERVE_QUICK.keystrokes : undefined),
    intervalMs: o.interval as number | undefined, jitterMs: o.jitter as number | undefined, linePauseMs: o['line-pause'] as number | undefined,
    seed: o.seed as number | undefined, target: o.target as string | undefined, drafters, threads: o.threads as number | undefined,
    maxTokens: (o['max-tokens'] as number | undefined) ?? (quick ? SERVE_QUICK.maxTokens : undefined),
    temperature: o.temperature as number | undefined, mode: o.mode as 'line' | 'block' | 'free' | undefined,
    queue: o.queue as number | undefined, samples: (o.samples as number | undefined) ?? (quick ? SERVE_QUICK.samples : undefined),
    noRouter: o['no-router'] === true, argv: ['bench', 'serve', ...argv],
    onNote: o.quiet ? undefined : (line) => io.stderr(`[serve] ${line}\n`),
  });
  const out = path.resolve(io.cwd, (o.out as string | undefined) ?? (quick ? path.join('.bench-results', 'quick') : '.bench-results'));
  const json = writeJson(out, 'serve', r);
  const rel = path.relative(io.cwd, json) || json;
  if (o.json) io.stdout(`${JSON.stringify({ ...r, json: rel })}\n`);
  else io.stdout(`${formatServe(r)}results: ${rel}\n`);
  return r.rows.some((x) => x.errors > 0) ? 1 : 0;
}
