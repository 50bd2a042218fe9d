/** The server's settings, as `lockstep serve` resolves them from its flags (serveCommand.ts); tests build them directly. */
import type { RequestDefaults } from '../engine/request/requestJson';
import type { CompletionMode } from '../engine/request/requests';

export interface ServeConfig {
  host: string;
  /** 0: the system picks a free port (the listening line says which). */
  port: number;
  /** Bearer token every route but /health needs; required on a non-loopback host. */
  token?: string;
  /** The one origin browsers may call from (Access-Control-Allow-Origin); absent: no CORS headers at all. */
  cors?: string;
  /** Most requests waiting for the engine (the running one not counted). */
  queue: number;
  maxBodyBytes: number;
  /** Most tokens a request may ask for (maxTokens, n_predict, max_tokens): more is a 400. */
  maxTokensLimit: number;
  /** Most prompt tokens a request may ask for; also the budget of a request that names none. Absent: the engine's context fit. */
  maxPromptTokens?: number;
  /** From a request's arrival to its answer; past it the engine is stopped and the answer is 504. */
  timeLimitMs: number;
  /** On close(): how long a running request may still finish before it is cancelled (503). */
  shutdownDeadlineMs: number;
  /** Node's limits on a slow client: all headers within headersTimeoutMs, the whole request within requestTimeoutMs. */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** Log each request's prompt (off by default: prompts are the user's code). */
  logPrompts: boolean;
  defaults: RequestDefaults;
  /** The stop rule of the llama.cpp and OpenAI routes: 'free' unless --mode (those servers go on past a line). */
  wireMode: CompletionMode;
  /** The target's id as clients name it (`model`), and what /v1/models lists. */
  targetId: string;
  /** The drafter names a request may ask for (none, prompt-lookup, auto and the loaded models). */
  drafters: readonly string[];
  /** `lockstep complete` options that reproduce this server's engine (--target … [--variant …]), without --request. */
  reproduceArgs: readonly string[];
}

export const SERVE_DEFAULTS = {
  host: '127.0.0.1',
  // llama.vscode's and llama.vim's default llama-server port: pointing those clients here needs no setting.
  port: 8012,
  queue: 16,
  maxBodyBytes: 1024 * 1024,
  maxTokensLimit: 1024,
  timeLimitMs: 60_000,
  shutdownDeadlineMs: 10_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
} as const;
