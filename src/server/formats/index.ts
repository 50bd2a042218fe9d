/**
 * Wire formats of `lockstep serve`: pure parsers (request body → the CompletionRequest `lockstep complete` would
 * build for the same text and options) and answer builders (CompletionResult → JSON / server-sent events). No I/O:
 * the server core reads bodies, queues, runs the engine and writes what these return.
 *
 * Errors: every parser throws BadRequest (status 400, 404 for an unknown OpenAI `model`) with a one-line message
 * that names the field; nothing here logs or echoes prompt text.
 *
 * Defaults: a field left out takes the server's default (ServeDefaults), not the wire format's own default
 * (llama.cpp's temperature 0.8 / top_k 40, OpenAI's max_tokens 16): one server, one set of defaults, reported in
 * `lockstep.request`. `seed` -1 or absent = the server's seed, never a random one (the answer must be reproducible).
 * Stop strings are cut after generation (stop.ts). mode is the server's (`lockstep serve` should use 'free':
 * llama-server and OpenAI go on past a line; llama.vscode and llama.vim cut lines themselves).
 *
 * llama.cpp POST /infill                    → CompletionRequest
 *   input_prefix + prompt                   → before (prompt = the cursor line's typed text, joined to the prefix)
 *   input_suffix                            → after
 *   input_extra [{filename, text}]          → context: snippets in llama-server's order (last chunk next to the
 *                                             file), repo 'myproject', current path 'filename' (llama-server's
 *                                             words), budget ServeDefaults.contextBudgetTokens (512)
 *   n_predict                               → maxTokens (-1/absent = default; 0 = prompt only, answer empty;
 *                                             > maxTokensLimit → 400)
 *   temperature, top_k, top_p, seed         → sampling, seed (wrong type/range → 400)
 *   stop (array of strings), stream         → stop cut, SSE
 *   t_max_prompt_ms + t_max_predict_ms      → timeLimitMs (sum; none unless t_max_predict_ms > 0)
 *   response_fields                         → only those answer fields, a path "timings/prompt_n" as its key
 *                                             (llama-server's flattening, read by llama.vim), plus `lockstep`
 *   grammar, json_schema                    → 400 (constrained sampling is not supported)
 *   cache_prompt, n_indent, samplers, id_slot, n_keep, n_probs, min_p, typical_p, repeat_*, presence/frequency
 *   penalties, dynatemp_*, mirostat*, dry_*, xtc_*, min_keep, n_cache_reuse, lora, return_tokens,
 *   timings_per_token, model, ignore_eos, logit_bias, … and any unknown key → ignored (listed in `ignored`)
 * llama.cpp POST /completion: the same options; `prompt` (string or [string]) split from the target's FIM markers
 *   (`<|fim_prefix|>b<|fim_suffix|>a<|fim_middle|>t` → before b+t, after a), no marker → before = prompt;
 *   token ids, several prompts, markers out of order or text before the prefix marker → 400.
 * OpenAI POST /v1/completions
 *   model (absent, '' or the target id; else 404), prompt (string or [string]) → before, suffix → after,
 *   max_tokens → maxTokens (≤ limit), temperature (0..2), top_p, seed, stop (string or ≤ 4 strings), stream,
 *   stream_options.include_usage; n = 1, best_of = 1, echo = false, logprobs = null, presence/frequency_penalty = 0,
 *   logit_bias = {} only (else 400); user and unknown keys → ignored.
 */
export {
  BadRequest, DEFAULT_SERVE_CONTEXT_BUDGET,
  type LockstepMeta, type ParsedRequest, type ServeDefaults, type WireFormat,
} from './fields';
export { INFILL_CURRENT_PATH, INFILL_REPO_NAME, LLAMA_IGNORED, parseInfill } from './infill';
export { parseCompletion, splitFimPrompt, type SplitPrompt } from './completion';
export { completionAnswer, infillAnswer, infillStreamEvents, llamaStopType, llamaTimings, type LlamaStopType } from './llamaAnswer';
export { finishReason, openAiAnswer, openAiStreamEvents, parseOpenAiCompletion } from './openai';
export { SSE_DONE, sseEvent } from './sse';
export { applyStop, type StopCut } from './stop';
export { pickResponseFields, responseFields } from './responseFields';
