/**
 * llama.cpp answers for /infill and /completion: the fields llama.vscode and llama.vim read (`content`, `timings`,
 * `stop`, `truncated`, `tokens_cached`), the ones its README documents (`tokens_predicted`, `tokens_evaluated`,
 * `stop_type`, `stopping_word`, `generation_settings`, `model`), plus `lockstep` (seed, ids, reproduction line).
 */
import type { CompletionResult } from '../../engine/request/requests';
import type { LockstepMeta, ParsedRequest } from './fields';
import { sseEvent } from './sse';
import { applyStop, type StopCut } from './stop';

export type LlamaStopType = 'eos' | 'limit' | 'word';

/**
 * stop_type: 'word' when a client stop string cut the text; 'limit' when the token ceiling was reached or the
 * request was cancelled (its time limit); 'eos' for every stop of the engine's own (end token, line/block rule,
 * suffix repeat) — llama.cpp has no finer kind, and to the client they all mean "the model was done".
 */
export function llamaStopType(r: CompletionResult, cut: StopCut): LlamaStopType {
  if (cut.stopped !== undefined) return 'word';
  return r.stopReason === 'maxTokens' || r.cancelled ? 'limit' : 'eos';
}

function perSecond(n: number, ms: number): number {
  return ms > 0 ? (1000 * n) / ms : 0;
}

/** llama-server's `timings` object, from the engine's own measurements (not part of the reproducible bytes). */
export function llamaTimings(r: CompletionResult): Record<string, number> {
  const promptMs = 1000 * r.prefillSeconds;
  const predictedMs = Math.max(0, 1000 * (r.seconds - r.prefillSeconds));
  return {
    prompt_n: r.promptTokens,
    prompt_ms: promptMs,
    prompt_per_token_ms: r.promptTokens > 0 ? promptMs / r.promptTokens : 0,
    prompt_per_second: perSecond(r.promptTokens, promptMs),
    predicted_n: r.tokens,
    predicted_ms: predictedMs,
    predicted_per_token_ms: r.tokens > 0 ? predictedMs / r.tokens : 0,
    predicted_per_second: perSecond(r.tokens, predictedMs),
  };
}

/** Everything of the answer except `content` (shared by the whole answer and the stream's last event). */
function tail(p: ParsedRequest, r: CompletionResult, meta: LockstepMeta, cut: StopCut): Record<string, unknown> {
  const q = p.request;
  return {
    model: meta.target,
    tokens_predicted: r.tokens,
    tokens_evaluated: r.promptTokens,
    // Lockstep's answer never depends on a prompt cache, so it reports none reused.
    tokens_cached: 0,
    truncated: false,
    stop: true,
    stop_type: llamaStopType(r, cut),
    stopping_word: cut.stopped ?? '',
    generation_settings: {
      n_predict: q.maxTokens, seed: q.seed, temperature: q.sampling.temperature, top_k: q.sampling.topK,
      top_p: q.sampling.topP, stop: p.stop, stream: p.stream,
    },
    timings: llamaTimings(r),
    lockstep: meta,
  };
}

export function infillAnswer(p: ParsedRequest, r: CompletionResult, meta: LockstepMeta): Record<string, unknown> {
  const cut = applyStop(r.text, p.stop);
  return { content: cut.text, ...tail(p, r, meta, cut) };
}

/** The same answer shape: llama-server's /completion and /infill answer alike. */
export const completionAnswer: typeof infillAnswer = infillAnswer;

/**
 * The stream of a finished completion: one event with the whole (cut) text, `stop: false`, then llama-server's
 * final event (`content: ""`, `stop: true`, timings …). The engine hands back whole completions, so the text is
 * not split per token; the `content` fields concatenated equal the non-stream answer's `content`. No [DONE].
 */
export function infillStreamEvents(p: ParsedRequest, r: CompletionResult, meta: LockstepMeta): string[] {
  const cut = applyStop(r.text, p.stop);
  const events: string[] = [];
  if (cut.text !== '') events.push(sseEvent({ content: cut.text, stop: false }));
  events.push(sseEvent({ content: '', ...tail(p, r, meta, cut) }));
  return events;
}
