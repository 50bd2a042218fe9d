/**
 * The routes Lockstep itself defines: health, metrics, models, the engine's description and the native completion
 * endpoint the editor's remote mode calls. Each handler returns its answer; server.ts writes it (and every error).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RequestError, parseCompletionRequest } from '../engine/request/requestJson';
import type { CompletionRequest, CompletionResult } from '../engine/request/requests';
import { readJsonBody } from './body';
import { lockstepFields, runQueued, withinLimits, type CompletionDeps, type LockstepFields } from './completion';
import { HttpError } from './httpError';

export interface Answer {
  status: number;
  /** A JSON answer… */
  json?: unknown;
  /** …or text of `contentType` (Prometheus text, server-sent events). */
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface RouteContext extends CompletionDeps {
  req: IncomingMessage;
  res: ServerResponse;
  /** X-Lockstep-Client, when the client sent one. */
  client: string | undefined;
  /** A line for the server's log (prompts only with --log-prompts). */
  log(line: string): void;
}

export type Handler = (ctx: RouteContext) => Promise<Answer>;

/** The native answer: the text, the engine's full result, and the Lockstep fields. */
export interface NativeAnswer {
  text: string;
  result: CompletionResult;
  lockstep: LockstepFields;
}

/** The JSON body as an object, its `model` (if any) naming this server's target; `model` is then removed. */
export async function readRequestObject(ctx: RouteContext): Promise<Record<string, unknown>> {
  const body = await readJsonBody(ctx.req, ctx.config.maxBodyBytes);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'the body must be a JSON object');
  const { model, ...rest } = body as Record<string, unknown>;
  if (model !== undefined) {
    if (typeof model !== 'string') throw new HttpError(400, `model must be a string, got ${model === null ? 'null' : typeof model}`);
    if (model !== ctx.config.targetId) throw new HttpError(404, `unknown model '${model}': this server serves '${ctx.config.targetId}'`);
  }
  return rest;
}

/** Checks, queues and runs a parsed request (the formats' routes too): the result and the request that ran. */
export async function complete(ctx: RouteContext, asked: CompletionRequest): Promise<{ request: CompletionRequest; result: CompletionResult }> {
  const request = withinLimits(asked, ctx.config);
  if (ctx.config.logPrompts) ctx.log(`prompt: ${JSON.stringify({ before: request.before, after: request.after })}`);
  const result = await runQueued(ctx, request, ctx.client, ctx.res);
  return { request, result };
}

const nativeComplete: Handler = async (ctx) => {
  const body = await readRequestObject(ctx);
  let asked: CompletionRequest;
  try {
    asked = parseCompletionRequest(body, ctx.config.defaults);
  } catch (e) {
    if (e instanceof RequestError) throw new HttpError(400, e.message);
    throw e;
  }
  const { request, result } = await complete(ctx, asked);
  const answer: NativeAnswer = { text: result.text, result, lockstep: lockstepFields(ctx.config, request) };
  return { status: 200, json: answer };
};

const health: Handler = async (ctx) => {
  const s = ctx.backend.state();
  if (s.kind === 'ready') return { status: 200, json: { status: 'ok' } };
  if (s.kind === 'error') return { status: 503, json: { status: 'error', error: s.message } };
  return { status: 503, json: { status: 'loading' }, headers: { 'Retry-After': '2' } };
};

const metrics: Handler = async (ctx) => ({
  status: 200,
  contentType: 'text/plain; version=0.0.4; charset=utf-8',
  text: ctx.metrics.render({
    queueLength: ctx.queue.length,
    queueMax: ctx.queue.maxLength,
    engineRestarts: ctx.backend.restarts(),
    engineReady: ctx.backend.state().kind === 'ready',
  }),
});

const models: Handler = async (ctx) => ({
  status: 200,
  json: { object: 'list', data: [{ id: ctx.config.targetId, object: 'model', created: 0, owned_by: 'lockstep' }] },
});

const info: Handler = async (ctx) => {
  const i = ctx.backend.info();
  if (!i) throw new HttpError(503, 'the engine is loading; retry shortly', { 'Retry-After': '2' });
  return { status: 200, json: i };
};

/** path → method → handler. /health needs no token (load balancers probe it); every other route does when one is set. */
export const NATIVE_ROUTES: Record<string, Record<string, Handler>> = {
  '/health': { GET: health },
  '/metrics': { GET: metrics },
  '/v1/models': { GET: models },
  '/lockstep/v1/info': { GET: info },
  '/lockstep/v1/complete': { POST: nativeComplete },
};

export const OPEN_ROUTES: ReadonlySet<string> = new Set(['/health']);
