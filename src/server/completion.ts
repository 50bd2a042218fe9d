/**
 * One completion through the server, whatever the route's format: the request checked against the server's limits,
 * queued, run on the engine with a time limit, cancelled when its client goes away; and the Lockstep fields every
 * answer carries (seed, ids, coupling, the exact request and the command that reproduces it).
 */
import type { ServerResponse } from 'node:http';
import type { CompletionRequest, CompletionResult } from '../engine/request/requests';
import type { ServeConfig } from './config';
import type { CompletionBackend } from './engineBackend';
import { HttpError } from './httpError';
import type { Metrics } from './metrics';
import type { RequestQueue } from './queue';

export interface CompletionDeps {
  config: ServeConfig;
  backend: CompletionBackend;
  queue: RequestQueue;
  metrics: Metrics;
}

/** The request within the server's limits (a 400 saying which is not), with the server's prompt budget when it has one. */
export function withinLimits(req: CompletionRequest, config: ServeConfig): CompletionRequest {
  if (req.maxTokens > config.maxTokensLimit) {
    throw new HttpError(400, `the request asks for ${req.maxTokens} tokens; this server's limit is ${config.maxTokensLimit} (--max-tokens-limit)`);
  }
  if (!config.drafters.includes(req.drafter)) {
    throw new HttpError(400, `drafter '${req.drafter}' is not loaded by this server (it serves: ${config.drafters.join(', ')}); any of them gives the same bytes`);
  }
  const limit = config.maxPromptTokens;
  if (limit === undefined) return req;
  if (req.maxPromptTokens !== undefined && req.maxPromptTokens > limit) {
    throw new HttpError(400, `the request asks for a ${req.maxPromptTokens}-token prompt; this server's limit is ${limit} (--max-prompt-tokens)`);
  }
  return { ...req, maxPromptTokens: req.maxPromptTokens ?? limit };
}

/** Runs `req` when its turn comes; rejects with the HttpError to answer (503 loading/full, 504 too slow, 409 superseded). */
export function runQueued(deps: CompletionDeps, req: CompletionRequest, client: string | undefined, res: ServerResponse): Promise<CompletionResult> {
  const state = deps.backend.state();
  if (state.kind === 'error') throw new HttpError(503, `the engine failed: ${state.message}`);
  if (state.kind !== 'ready') throw new HttpError(503, 'the engine is loading; retry shortly', { 'Retry-After': '2' });
  const ticket = deps.queue.submit(client, async (signal) => {
    let r: CompletionResult;
    try {
      r = await deps.backend.complete(req, signal);
    } catch (e) {
      throw new HttpError(500, `the engine failed on this request: ${(e as Error).message}`);
    }
    if (r.cancelled && !signal.aborted) throw new HttpError(503, 'the engine stopped before the request finished; retry', { 'Retry-After': '2' });
    deps.metrics.completion(r);
    return r;
  });
  const timer = setTimeout(() => ticket.cancel(new HttpError(504, `the request took over ${deps.config.timeLimitMs / 1000} s and was stopped`)), deps.config.timeLimitMs);
  // The client hung up (the editor moved on): its request leaves the queue, or the engine stops it.
  const gone = (): void => {
    if (!res.writableEnded) ticket.cancel(new HttpError(499, 'the client closed the connection'));
  };
  res.once('close', gone);
  return ticket.result.finally(() => {
    clearTimeout(timer);
    res.off('close', gone);
  });
}

export interface LockstepFields {
  seed: number;
  target: string;
  drafter: string;
  coupling: string;
  /** The exact request the engine ran: save it to a file and `reproduce` gives the same bytes. */
  request: CompletionRequest;
  reproduce: string;
}

/** A word as a POSIX shell reads it literally. */
function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:=+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function lockstepFields(config: ServeConfig, req: CompletionRequest): LockstepFields {
  const args = ['lockstep', 'complete', ...config.reproduceArgs, '--request', 'request.json'].map(shellWord).join(' ');
  return {
    seed: req.seed,
    target: config.targetId,
    drafter: req.drafter,
    coupling: req.coupling,
    request: req,
    reproduce: `save lockstep.request as request.json, then: ${args}`,
  };
}
