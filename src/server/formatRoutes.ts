/**
 * The routes other clients already speak — llama.cpp's POST /infill and /completion, OpenAI's POST /v1/completions —
 * over the pure parsers and answer builders of src/server/formats/. Each parses into the same CompletionRequest the
 * native endpoint runs (so the same queue, limits and bytes), and answers in its format with `lockstep` fields.
 *
 * Streaming: the engine hands back whole completions, so a stream is the finished answer's events, written at once.
 * Client time limits (llama.cpp's t_max_prompt_ms / t_max_predict_ms) are not applied: a completion cut by time
 * would depend on the machine's speed and could not be reproduced; the server's --time-limit bounds every request.
 */
import { randomUUID } from 'node:crypto';
import { FIM_TEMPLATE_NAMES, type FimTemplateId } from '../engine/prompt/fim';
import { notStartedResult, type CompletionResult } from '../engine/request/requests';
import { lockstepFields } from './completion';
import type { ServeConfig } from './config';
import {
  BadRequest, completionAnswer, infillAnswer, infillStreamEvents, openAiAnswer, openAiStreamEvents, parseCompletion,
  parseInfill, parseOpenAiCompletion, pickResponseFields, type LockstepMeta, type ParsedRequest, type ServeDefaults,
} from './formats';
import { readJsonBody } from './body';
import { HttpError } from './httpError';
import { complete, type Answer, type Handler, type RouteContext } from './routes';

/** The formats' defaults from the server's; `mode` is the wire formats' own (serveCommand: 'free' unless --mode). */
export function serveDefaults(config: ServeConfig): ServeDefaults {
  const d = config.defaults;
  return {
    seed: d.seed, temperature: d.sampling.temperature, topP: d.sampling.topP, topK: d.sampling.topK, maxTokens: d.maxTokens,
    maxTokensLimit: config.maxTokensLimit, coupling: d.coupling, gamma: d.gamma, drafter: d.drafter, mode: config.wireMode,
    targetId: config.targetId, ...(config.maxPromptTokens === undefined ? {} : { maxPromptTokens: config.maxPromptTokens }),
  };
}

type Parse = (body: unknown, ctx: RouteContext) => ParsedRequest;
type Build = (p: ParsedRequest, r: CompletionResult, meta: LockstepMeta) => { json: Record<string, unknown> } | { events: string[] };

function fimTemplate(ctx: RouteContext): FimTemplateId | undefined {
  const id = ctx.backend.info()?.fim;
  return (FIM_TEMPLATE_NAMES as readonly string[]).includes(id ?? '') ? (id as FimTemplateId) : undefined;
}

function formatRoute(parse: Parse, build: Build): Handler {
  return async (ctx) => {
    const body = await readJsonBody(ctx.req, ctx.config.maxBodyBytes);
    let parsed: ParsedRequest;
    try {
      parsed = parse(body, ctx);
    } catch (e) {
      if (e instanceof BadRequest) throw new HttpError(e.status, e.message);
      throw e;
    }
    // n_predict 0: llama.cpp's "evaluate the prompt only" (llama.vscode and llama.vim warm the cache with it). There is
    // no prompt cache to warm here, so it is answered empty at once, without the engine or a place in the queue.
    const { request, result } = parsed.request.maxTokens === 0
      ? { request: parsed.request, result: { ...notStartedResult(parsed.request), stopReason: 'maxTokens', cancelled: false } }
      : await complete(ctx, parsed.request);
    const out = build(parsed, result, lockstepFields(ctx.config, request));
    const answer: Answer = 'json' in out
      ? { status: 200, json: pickResponseFields(out.json, parsed.responseFields) }
      : { status: 200, text: out.events.join(''), contentType: 'text/event-stream; charset=utf-8', headers: { 'Cache-Control': 'no-cache' } };
    return answer;
  };
}

const llama = (answer: typeof infillAnswer): Build => (p, r, meta) =>
  (p.stream ? { events: infillStreamEvents(p, r, meta) } : { json: answer(p, r, meta) });

const openai: Build = (p, r, meta) => {
  const id = `cmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  return p.stream ? { events: openAiStreamEvents(p, r, meta, id, created) } : { json: openAiAnswer(p, r, meta, id, created) };
};

export const FORMAT_ROUTES: Record<string, Record<string, Handler>> = {
  '/infill': { POST: formatRoute((b, ctx) => parseInfill(b, serveDefaults(ctx.config)), llama(infillAnswer)) },
  '/completion': { POST: formatRoute((b, ctx) => parseCompletion(b, serveDefaults(ctx.config), fimTemplate(ctx)), llama(completionAnswer)) },
  '/v1/completions': { POST: formatRoute((b, ctx) => parseOpenAiCompletion(b, serveDefaults(ctx.config)), openai) },
};
