/**
 * llama.cpp's `POST /infill` (llama.vscode, llama.vim, llama.qtcreator …) → a CompletionRequest, and the llama.cpp
 * options that `/infill` and `/completion` share. Field table: see index.ts.
 */
import type { RequestContext } from '../../engine/request/requests';
import {
  BadRequest, DEFAULT_SERVE_CONTEXT_BUDGET, TEMPERATURE, TOP_K, TOP_P, asObject, buildRequest, checkTokenLimit,
  describe, given, ignoredKeys, num, bool, seedField, stopArray, str,
  type JsonObject, type ParsedRequest, type RequestFields, type ServeDefaults, type WireFormat,
} from './fields';
import { responseFields } from './responseFields';

/**
 * Options that change sampling in llama.cpp but that Lockstep's sampler does not have. Accepted and ignored (and
 * reported in `ignored`): clients send them with their defaults, and refusing would lock those clients out.
 */
export const LLAMA_IGNORED = [
  'cache_prompt', 'n_indent', 'samplers', 'id_slot', 'n_keep', 'n_probs', 'min_p', 'typical_p', 'repeat_penalty',
  'repeat_last_n', 'presence_penalty', 'frequency_penalty', 'dynatemp_range', 'dynatemp_exponent', 'mirostat',
  'mirostat_tau', 'mirostat_eta', 'dry_multiplier', 'dry_base', 'dry_allowed_length', 'dry_penalty_last_n',
  'dry_sequence_breakers', 'xtc_probability', 'xtc_threshold', 'min_keep', 'n_cache_reuse', 'lora',
  'return_tokens', 'timings_per_token', 'return_progress', 'post_sampling_probs', 'model', 'ignore_eos', 'logit_bias',
  'sse_ping_interval', 'n_cmpl',
] as const;

/**
 * Options refused with a 400: they promise a different text (a grammar, a schema) or a different answer shape
 * (several completions) that Lockstep cannot give; ignoring them would hand back something the client did not ask for.
 */
const LLAMA_REFUSED: Record<string, string> = {
  grammar: 'grammar-constrained sampling is not supported',
  json_schema: 'schema-constrained sampling is not supported',
};

/** The fields both llama.cpp endpoints read; the prompt fields are the caller's. */
const LLAMA_OPTIONS = ['response_fields', 'n_predict', 'temperature', 'top_k', 'top_p', 'seed', 'stop', 'stream', 't_max_predict_ms', 't_max_prompt_ms'];

interface LlamaOptions {
  fields: Omit<RequestFields, 'before' | 'after' | 'context'>;
  stream: boolean;
  stop: string[];
  timeLimitMs?: number;
}

const MS: { min: number; expect: string } = { min: 0, expect: 'a number of milliseconds ≥ 0' };

/**
 * n_predict: -1 or absent = the server's maxTokens; 0 = llama.cpp's "evaluate the prompt only" (llama.vscode and
 * llama.vim send it to warm the cache): parsed as maxTokens 0, which the server answers with an empty completion
 * without running the engine. Over the server's limit: 400.
 */
function nPredict(o: JsonObject, d: ServeDefaults): number | undefined {
  if (given(o, 'n_predict') && o.n_predict === -1) return undefined;
  const n = num(o, 'n_predict', { integer: true, min: 0, expect: 'an integer ≥ 0, or -1 for the server\'s default' });
  return n === undefined ? undefined : checkTokenLimit('n_predict', n, d);
}

/**
 * t_max_prompt_ms / t_max_predict_ms → one time limit, their sum. 0 means "no limit" in llama.cpp, so a request
 * without a positive t_max_predict_ms asks for no limit (the prompt's share alone does not bound generation).
 */
function timeLimit(o: JsonObject): number | undefined {
  const prompt = num(o, 't_max_prompt_ms', MS) ?? 0;
  const predict = num(o, 't_max_predict_ms', MS) ?? 0;
  return predict > 0 ? predict + prompt : undefined;
}

export function parseLlamaOptions(o: JsonObject, d: ServeDefaults): LlamaOptions {
  for (const [key, why] of Object.entries(LLAMA_REFUSED)) {
    if (given(o, key)) throw new BadRequest(`${key}: ${why}`);
  }
  const stop = given(o, 'stop') ? stopArray(o.stop, 'stop') : [];
  const timeLimitMs = timeLimit(o);
  return {
    fields: {
      seed: seedField(o, 'seed', d),
      temperature: num(o, 'temperature', TEMPERATURE),
      topP: num(o, 'top_p', TOP_P),
      topK: num(o, 'top_k', TOP_K),
      maxTokens: nPredict(o, d),
    },
    stream: bool(o, 'stream') ?? false,
    stop,
    ...(timeLimitMs === undefined ? {} : { timeLimitMs }),
  };
}

/**
 * What llama-server writes for the repository header and the current file's path when input_extra is given
 * (tools/server README, "repo-level pattern": `<FIM_REP>myproject` … `<FIM_SEP>filename`): the clients send neither,
 * and using llama-server's own words gives the model the prompt it sees there.
 */
export const INFILL_REPO_NAME = 'myproject';
export const INFILL_CURRENT_PATH = 'filename';

/**
 * input_extra [{filename, text}] → RequestContext snippets. llama-server places the chunks in array order, the last
 * next to the current file (and keeps the tail when they do not fit); RequestContext lists snippets most relevant
 * first and places them reversed, so the array is reversed here to keep llama-server's order and priority.
 * An empty array = no context (the plain FIM prompt, as `lockstep complete` without --context-file).
 */
export function inputExtra(v: unknown, d: ServeDefaults): RequestContext | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new BadRequest(`input_extra: expected an array of {filename, text}, got ${describe(v)}`);
  const snippets = v.map((chunk, i) => {
    const key = `input_extra[${i}]`;
    if (typeof chunk !== 'object' || chunk === null || Array.isArray(chunk)) {
      throw new BadRequest(`${key}: expected an object {filename, text}, got ${describe(chunk)}`);
    }
    const c = chunk as JsonObject;
    // Extra keys of a chunk (llama.vim's `time`, `source`) are the client's bookkeeping: ignored.
    if (typeof c.text !== 'string') throw new BadRequest(`${key}.text: expected a string, got ${given(c, 'text') ? describe(c.text) : 'nothing'}`);
    const f = c.filename;
    if (f !== undefined && f !== null && typeof f !== 'string') throw new BadRequest(`${key}.filename: expected a string, got ${describe(f)}`);
    const path = typeof f === 'string' ? f : '';
    const text = c.text;
    return { path, text };
  });
  if (snippets.length === 0) return undefined;
  return {
    path: INFILL_CURRENT_PATH,
    repoName: INFILL_REPO_NAME,
    snippets: snippets.reverse(),
    budgetTokens: d.contextBudgetTokens ?? DEFAULT_SERVE_CONTEXT_BUDGET,
  };
}

const INFILL_HANDLED = new Set(['input_prefix', 'input_suffix', 'input_extra', 'prompt', ...LLAMA_OPTIONS]);

/**
 * `/infill`. The text before the cursor is input_prefix + prompt: llama.vscode and llama.vim send the lines above the
 * cursor as input_prefix and the cursor's line up to the cursor as `prompt`. llama-server puts `prompt` after the
 * middle marker; the engine takes only before/after, so it is joined to the prefix (the same text, tokenized as
 * part of the prefix — which is also how `lockstep complete` sees a cursor in the middle of a line).
 */
export function parseInfill(body: unknown, d: ServeDefaults): ParsedRequest {
  const o = asObject(body);
  const prefix = str(o, 'input_prefix') ?? '';
  const typed = str(o, 'prompt') ?? '';
  const after = str(o, 'input_suffix') ?? '';
  const context = inputExtra(o.input_extra, d);
  return finishLlama('infill', o, d, prefix + typed, after, context, INFILL_HANDLED);
}

export function finishLlama(
  format: WireFormat, o: JsonObject, d: ServeDefaults, before: string, after: string,
  context: RequestContext | undefined, handled: ReadonlySet<string>,
): ParsedRequest {
  const opts = parseLlamaOptions(o, d);
  const fields = responseFields(o);
  return {
    format,
    request: buildRequest({ before, after, ...opts.fields, ...(context === undefined ? {} : { context }) }, d),
    stream: opts.stream,
    stop: opts.stop,
    ...(opts.timeLimitMs === undefined ? {} : { timeLimitMs: opts.timeLimitMs }),
    ...(fields === undefined ? {} : { responseFields: fields }),
    ignored: ignoredKeys(o, handled),
  };
}
