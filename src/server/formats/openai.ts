/**
 * OpenAI's `POST /v1/completions` (the `openai` npm client, minuet, llama.vscode's OpenAI mode …): request → a
 * CompletionRequest, result → `text_completion` answers and server-sent events. Field table: see index.ts.
 */
import type { CompletionResult } from '../../engine/request/requests';
import {
  BadRequest, TOP_P, asObject, bool, buildRequest, checkTokenLimit, describe, given, ignoredKeys, num, seedField,
  stopArray, str, type JsonObject, type LockstepMeta, type ParsedRequest, type ServeDefaults,
} from './fields';
import { SSE_DONE, sseEvent } from './sse';
import { applyStop, type StopCut } from './stop';

/**
 * Options that only have one value Lockstep can honour: that value (or null/absent) is accepted, anything else is a
 * 400, because it asks for another answer shape (n, best_of, echo, logprobs) or another distribution (penalties).
 */
const ONLY: Record<string, unknown> = { n: 1, best_of: 1, echo: false, presence_penalty: 0, frequency_penalty: 0 };

const HANDLED = new Set([
  'model', 'prompt', 'suffix', 'max_tokens', 'temperature', 'top_p', 'seed', 'stop', 'stream', 'stream_options',
  'logprobs', 'logit_bias', ...Object.keys(ONLY),
]);

function promptText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    if (v.length === 1 && typeof v[0] === 'string') return v[0];
    if (v.some((x) => typeof x === 'number' || Array.isArray(x))) throw new BadRequest('prompt: token-id prompts are not supported; send the text');
    throw new BadRequest(`prompt: expected one string, got an array of ${v.length} (only n=1 of one prompt is served)`);
  }
  // OpenAI's default prompt is <|endoftext|>, a document start: for a code model that is an empty prefix.
  if (v === undefined || v === null) return '';
  throw new BadRequest(`prompt: expected a string, got ${describe(v)}`);
}

function checkOnly(o: JsonObject): void {
  for (const [key, value] of Object.entries(ONLY)) {
    if (given(o, key) && o[key] !== value) {
      if (typeof o[key] !== typeof value) throw new BadRequest(`${key}: expected ${typeof value === 'boolean' ? 'true or false' : 'a number'}, got ${describe(o[key])}`);
      throw new BadRequest(`${key}: only ${JSON.stringify(value)} is supported, got ${JSON.stringify(o[key])}`);
    }
  }
  if (given(o, 'logprobs')) throw new BadRequest('logprobs: not supported (send null or leave it out)');
  if (given(o, 'logit_bias')) {
    const b = o.logit_bias;
    if (typeof b !== 'object' || Array.isArray(b) || Object.keys(b as object).length > 0) {
      throw new BadRequest('logit_bias: not supported (send {} or leave it out)');
    }
  }
}

function includeUsage(o: JsonObject): boolean {
  if (!given(o, 'stream_options')) return false;
  const so = o.stream_options;
  if (typeof so !== 'object' || so === null || Array.isArray(so)) throw new BadRequest(`stream_options: expected an object, got ${describe(so)}`);
  const v = (so as JsonObject).include_usage;
  if (v !== undefined && v !== null && typeof v !== 'boolean') throw new BadRequest(`stream_options.include_usage: expected true or false, got ${describe(v)}`);
  return v === true;
}

/**
 * `/v1/completions`. `model` must be the target's id (or absent/empty: many clients send a placeholder only when
 * asked, and llama-server accepts any) — another id is a 404, as OpenAI answers an unknown model. max_tokens absent
 * = the server's default (OpenAI's 16 would cut most code completions short).
 */
export function parseOpenAiCompletion(body: unknown, d: ServeDefaults): ParsedRequest {
  const o = asObject(body);
  const model = str(o, 'model');
  if (model !== undefined && model !== '' && model !== d.targetId) {
    throw new BadRequest(`model: '${model}' is not served here (this server serves '${d.targetId}')`, 404);
  }
  checkOnly(o);
  const before = promptText(o.prompt);
  const after = str(o, 'suffix') ?? '';
  const maxTokens = num(o, 'max_tokens', { integer: true, min: 1, expect: 'an integer ≥ 1' });
  let stop: string[] = [];
  if (given(o, 'stop')) stop = typeof o.stop === 'string' ? stopArray([o.stop], 'stop') : stopArray(o.stop, 'stop', 4);
  const stream = bool(o, 'stream') ?? false;
  const usage = includeUsage(o);
  if (usage && !stream) throw new BadRequest('stream_options: only allowed with stream: true');
  return {
    format: 'openai',
    request: buildRequest({
      before,
      after,
      seed: seedField(o, 'seed', d),
      temperature: num(o, 'temperature', { min: 0, max: 2, expect: 'a number from 0 to 2' }),
      topP: num(o, 'top_p', TOP_P),
      maxTokens: maxTokens === undefined ? undefined : checkTokenLimit('max_tokens', maxTokens, d),
    }, d),
    stream,
    stop,
    ignored: ignoredKeys(o, HANDLED),
    ...(usage ? { includeUsage: true } : {}),
  };
}

/** 'length' when the token ceiling was reached or the request was cancelled (time limit); else 'stop'. */
export function finishReason(r: CompletionResult, cut: StopCut): 'stop' | 'length' {
  if (cut.stopped !== undefined) return 'stop';
  return r.stopReason === 'maxTokens' || r.cancelled ? 'length' : 'stop';
}

function usageOf(r: CompletionResult): Record<string, number> {
  return { prompt_tokens: r.promptTokens, completion_tokens: r.tokens, total_tokens: r.promptTokens + r.tokens };
}

export function openAiAnswer(
  p: ParsedRequest, r: CompletionResult, meta: LockstepMeta, id: string, created: number,
): Record<string, unknown> {
  const cut = applyStop(r.text, p.stop);
  return {
    id,
    object: 'text_completion',
    created,
    model: meta.target,
    choices: [{ text: cut.text, index: 0, logprobs: null, finish_reason: finishReason(r, cut) }],
    usage: usageOf(r),
    lockstep: meta,
  };
}

/**
 * The stream: a chunk with the whole (cut) text and finish_reason null, a last chunk with text '' and the
 * finish_reason (it carries `lockstep`), with include_usage a chunk with `choices: []` and `usage` (OpenAI's shape),
 * then `data: [DONE]`. The engine hands back whole completions, so the text is not split per token; the chunks'
 * texts concatenated equal the non-stream `choices[0].text`.
 */
export function openAiStreamEvents(
  p: ParsedRequest, r: CompletionResult, meta: LockstepMeta, id: string, created: number,
): string[] {
  const cut = applyStop(r.text, p.stop);
  const head = { id, object: 'text_completion', created, model: meta.target };
  const usage = p.includeUsage === true ? { usage: null } : {};
  const events: string[] = [];
  if (cut.text !== '') {
    events.push(sseEvent({ ...head, choices: [{ text: cut.text, index: 0, logprobs: null, finish_reason: null }], ...usage }));
  }
  events.push(sseEvent({
    ...head, choices: [{ text: '', index: 0, logprobs: null, finish_reason: finishReason(r, cut) }], ...usage, lockstep: meta,
  }));
  if (p.includeUsage === true) events.push(sseEvent({ ...head, choices: [], usage: usageOf(r) }));
  events.push(SSE_DONE);
  return events;
}
