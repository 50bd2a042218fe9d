/**
 * `lockstep serve`: the engine behind an HTTP server (src/server/) for other editors and for teams. Models resolve as
 * for `lockstep complete` (engineOpen.ts), the engine runs in its own process under the extension's supervision
 * (EngineHost), and every answer equals `lockstep complete --request` for the request it ran. Loopback by default; a
 * non-loopback host without a token is refused (exit 2). SIGTERM/SIGINT shut down gracefully (exit 0).
 */
import * as path from 'node:path';
import type { RequestDefaults } from '../engine/request/requestJson';
import { DEFAULT_COUPLING } from '../engine/decode/couplings/registry';
import { DEFAULT_DRAFTER, DRAFTER_USAGE, drafterNamesFor } from '../engine/decode/drafters/drafterSpec';
import { isLoopback } from '../server/auth';
import { SERVE_DEFAULTS, type ServeConfig } from '../server/config';
import { hostBackend } from '../server/engineBackend';
import { LockstepServer, type RouteTable } from '../server/server';
import * as A from './args';
import { UsageError } from './args';
import { planEngineOptions } from './engineOpen';
import { CliIo, EXIT_STATUS_HELP } from './io';
import { commonDefs, generationDefs } from './options';

const { json: _json, ...modelDefs } = commonDefs;
const port = A.numberIn({ min: 0, max: 65535, integer: true, describe: 'an integer from 0 to 65535' });
const seconds = A.numberIn({ min: 0, minExclusive: true, max: 86_400, describe: 'a number of seconds in (0, 86400]' });

const serveDefs = {
  ...modelDefs,
  drafter: A.single(A.str, 'DRAFTER', `the drafter requests run with unless they name another it loaded: ${DRAFTER_USAGE} (default ${DEFAULT_DRAFTER})`),
  ...generationDefs,
  host: A.single(A.str, 'HOST', `address to listen on (default ${SERVE_DEFAULTS.host}; any other than loopback needs a token)`),
  port: A.single(port, 'PORT', `port (default ${SERVE_DEFAULTS.port}, llama.vscode's default; 0 = pick a free one, printed)`),
  token: A.single(A.str, 'TOKEN', 'bearer token every route but /health needs (default: $LOCKSTEP_TOKEN)'),
  cors: A.single(A.str, 'ORIGIN', 'allow browsers from ORIGIN (default: no CORS headers)'),
  queue: A.single(A.positiveInt, 'N', `most requests waiting for the engine; more get 503 with Retry-After (default ${SERVE_DEFAULTS.queue})`),
  'max-body': A.single(A.positiveInt, 'BYTES', `largest request body; more get 413 (default ${SERVE_DEFAULTS.maxBodyBytes})`),
  'max-tokens-limit': A.single(A.maxTokens, 'N', `most tokens a request may ask for; more get 400 (default ${SERVE_DEFAULTS.maxTokensLimit})`),
  'max-prompt-tokens': A.single(A.positiveInt, 'N', 'most prompt tokens a request may ask for, and the budget of those naming none (default: what the context leaves)'),
  'time-limit': A.single(seconds, 'S', `seconds a request may take from arrival; then it is stopped, 504 (default ${SERVE_DEFAULTS.timeLimitMs / 1000})`),
  'shutdown-deadline': A.single(seconds, 'S', `on SIGTERM, seconds the running request may still take before it is cancelled (default ${SERVE_DEFAULTS.shutdownDeadlineMs / 1000})`),
  'log-prompts': A.flag('log each request\'s prompt (default: never)'),
};

export function serveHelp(): string {
  return 'Usage: lockstep serve [options]\n\n' +
    'Serves completions over HTTP: POST /lockstep/v1/complete (a CompletionRequest as JSON), GET /lockstep/v1/info,\n' +
    'GET /health, GET /metrics, GET /v1/models, and the llama.cpp / OpenAI formats. One engine, one request at a time\n' +
    'in arrival order; a client\'s newer request (X-Lockstep-Client header) replaces its waiting one (409 superseded).\n' +
    'Every answer carries lockstep.request and the `lockstep complete --request` command that gives the same bytes.\n\n' +
    `Options:\n${A.describeOptions(serveDefs)}\n\n${EXIT_STATUS_HELP}`;
}

type ServeOptions = A.ParsedOptions<typeof serveDefs>;

/** The `lockstep complete` options that load the same engine (the drafter aside: any gives the same bytes). */
function reproduceArgs(o: ServeOptions, targetSpec: string, cwd: string): string[] {
  const out = ['--target', targetSpec];
  if (o.catalog !== undefined) out.push('--catalog', path.resolve(cwd, o.catalog));
  if (o.variant !== undefined) out.push('--variant', o.variant);
  if (o['drafter-variant'] !== undefined) out.push('--drafter-variant', o['drafter-variant']);
  if (o.device !== undefined) out.push('--device', o.device);
  if (o.fim !== undefined) out.push('--fim', o.fim);
  if (o['no-fused']) out.push('--no-fused');
  if (o['no-fast-q4']) out.push('--no-fast-q4');
  return out;
}

export interface StartedServer {
  server: LockstepServer;
  url: string;
}

/** Parses the flags, plans the engine, starts it and the server; prints the listening line. */
export async function startServe(argv: string[], io: CliIo, env: NodeJS.ProcessEnv = process.env, routes: RouteTable = {}): Promise<StartedServer | undefined> {
  const { options: o, positionals } = A.parseArgs(argv, serveDefs);
  if (o.help) {
    io.stdout(`${serveHelp()}\n`);
    return undefined;
  }
  if (positionals.length > 0) throw new UsageError(`serve takes no arguments, got '${positionals[0]}'`);
  const host = o.host ?? SERVE_DEFAULTS.host;
  const token = o.token ?? (env.LOCKSTEP_TOKEN || undefined);
  if (token === '') throw new UsageError('--token is empty');
  if (!isLoopback(host)) {
    if (token === undefined) throw new UsageError(`refusing to listen on ${host} without a token: anyone who can reach it could use it; give --token or set LOCKSTEP_TOKEN`);
  }
  const maxTokensLimit = o['max-tokens-limit'] ?? SERVE_DEFAULTS.maxTokensLimit;
  const maxTokens = o['max-tokens'] ?? 64;
  if (maxTokens > maxTokensLimit) throw new UsageError(`--max-tokens ${maxTokens} is over --max-tokens-limit ${maxTokensLimit}`);
  const plan = planEngineOptions(o, [o.drafter ?? DEFAULT_DRAFTER], io.cwd);
  const loaded = (plan.options.drafters ?? []).map((d) => d.name);
  const defaults: RequestDefaults = {
    drafter: plan.drafters[0].requestName,
    coupling: o.coupling ?? DEFAULT_COUPLING,
    seed: o.seed ?? 0,
    sampling: { temperature: o.temperature ?? 0.2, topP: o['top-p'] ?? 1, topK: o['top-k'] ?? 0 },
    gamma: o.gamma ?? 'auto',
    maxTokens,
    mode: o.mode ?? 'block',
  };
  const config: ServeConfig = {
    ...SERVE_DEFAULTS,
    host,
    port: o.port ?? SERVE_DEFAULTS.port,
    token,
    cors: o.cors,
    queue: o.queue ?? SERVE_DEFAULTS.queue,
    maxBodyBytes: o['max-body'] ?? SERVE_DEFAULTS.maxBodyBytes,
    maxTokensLimit,
    maxPromptTokens: o['max-prompt-tokens'],
    timeLimitMs: o['time-limit'] !== undefined ? o['time-limit'] * 1000 : SERVE_DEFAULTS.timeLimitMs,
    shutdownDeadlineMs: o['shutdown-deadline'] !== undefined ? o['shutdown-deadline'] * 1000 : SERVE_DEFAULTS.shutdownDeadlineMs,
    logPrompts: o['log-prompts'],
    defaults,
    wireMode: o.mode ?? 'free',
    targetId: plan.targetEntry?.id ?? plan.targetSpec,
    drafters: drafterNamesFor(loaded),
    reproduceArgs: reproduceArgs(o, plan.targetSpec, io.cwd),
  };
  const say = (line: string): void => io.stderr(`lockstep serve: ${line}\n`);
  const backend = hostBackend(plan.options, plan.targetSpec, {
    debug: (m) => (o.debug ? say(m) : undefined), info: say, warn: say, error: say,
  });
  const server = new LockstepServer(config, backend, say, routes);
  let address: { host: string; port: number };
  try {
    address = await server.listen();
  } catch (e) {
    await backend.dispose();
    throw e;
  }
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const url = `http://${shownHost}:${address.port}`;
  io.stdout(`lockstep serve: listening on ${url} (target ${config.targetId}, drafter ${plan.drafters[0].spec})\n`);
  return { server, url };
}

export async function serveCommand(argv: string[], io: CliIo): Promise<number> {
  const started = await startServe(argv, io);
  if (!started) return 0;
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      io.stderr(`lockstep serve: ${signal}: finishing the running request, then stopping\n`);
      void started.server.close().then(resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  return 0;
}
