/**
 * How a completion and its prompt share the target's context (maxPositions): the prompt is fed first, the completion's
 * tokens follow it, and together they must fit. Pure; the engine applies it in complete() and promptFor(), the
 * extension calls it to warn as soon as the engine is ready.
 *
 * The rule:
 *  - a completion may take at most half of the context: maxTokens ≤ ⌊maxPositions / 2⌋;
 *  - the prompt gets its requested budget, or what the context has left after that completion and a small reserve,
 *    whichever is smaller (never fewer than MIN_PROMPT_TOKENS).
 * So the prompt never drops below maxPositions/2 − CONTEXT_RESERVE tokens unless it asked for fewer.
 *
 * Why half: the prompt is what makes a completion follow from the code — it is always spent in full in a long file —
 * while maxTokens is only a ceiling that line and block completions rarely reach (they stop at the end of the line
 * or block). Letting the ceiling eat the context (maxTokens 4096 on a 512-position model once left a prompt of 7–8
 * tokens, and the completion had nothing to do with the code) trades a certain loss for an unlikely gain; half keeps
 * both useful, and on models with a long context (32 768 positions for Qwen2.5-Coder) the setting's maximum of 4 096
 * is never capped. A capped maxTokens is reported (the message) because it changes what the user asked for; a prompt
 * budget larger than the model can hold is not: contextTokens is an upper bound by its description.
 */

/** Prompt budget when the request names none (CompletionRequest.maxPromptTokens). */
export const DEFAULT_PROMPT_TOKENS = 1024;
/** Positions left unused between the prompt and the completion's ceiling (the engine's margin since its first version). */
export const CONTEXT_RESERVE = 16;
/** The smallest prompt budget: the FIM markers and a few tokens of text. */
export const MIN_PROMPT_TOKENS = 8;

export interface ContextFit {
  /** The completion's token ceiling actually used (≤ the requested one). */
  maxTokens: number;
  /** The prompt budget actually used, FIM markers included. */
  promptTokens: number;
  /** Set when the requested maxTokens was capped: one sentence for a warning. */
  message?: string;
}

/**
 * The effective maxTokens and prompt budget for a target of `maxPositions` positions.
 * @param maxTokens the requested completion ceiling (the maxTokens setting / --max-tokens)
 * @param promptTokens the requested prompt budget (the contextTokens setting); DEFAULT_PROMPT_TOKENS when absent
 */
export function fitContext(maxPositions: number, maxTokens: number, promptTokens: number = DEFAULT_PROMPT_TOKENS): ContextFit {
  const cap = Math.max(1, Math.floor(maxPositions / 2));
  const tokens = Math.max(1, Math.min(Math.floor(maxTokens), cap));
  const room = maxPositions - tokens - CONTEXT_RESERVE;
  const prompt = Math.max(MIN_PROMPT_TOKENS, Math.min(Math.floor(promptTokens), room));
  const fit: ContextFit = { maxTokens: tokens, promptTokens: prompt };
  if (tokens < maxTokens) {
    fit.message =
      `maxTokens ${maxTokens} does not fit the target's context of ${maxPositions} positions next to a prompt: ` +
      `completions are capped at ${tokens} tokens (half the context), leaving ${prompt} tokens for the prompt`;
  }
  return fit;
}
