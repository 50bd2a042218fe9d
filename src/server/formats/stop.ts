/**
 * Client stop strings (llama.cpp `stop`, OpenAI `stop`). Generation itself is not stopped by them: the engine runs
 * to maxTokens or its own stop rule (eos, the mode's line/block rule, the suffix repeat), and the text is then cut
 * before the earliest stop string. Cutting afterwards is deterministic (the same text always gives the same cut) and
 * keeps the engine's request equal to the `lockstep complete` one; the price is the tokens generated past the cut.
 */
export interface StopCut {
  text: string;
  /** The stop string the text was cut at; undefined when none occurs. */
  stopped: string | undefined;
}

/**
 * Cuts `text` before the earliest occurrence of any stop string (the stop string itself is not included, as in
 * llama.cpp and OpenAI). Two stop strings found at the same position: the one listed first wins.
 */
export function applyStop(text: string, stop: readonly string[]): StopCut {
  let at = -1;
  let stopped: string | undefined;
  for (const s of stop) {
    if (s === '') continue;
    const i = text.indexOf(s);
    if (i >= 0 && (at < 0 || i < at)) {
      at = i;
      stopped = s;
    }
  }
  return at < 0 ? { text, stopped: undefined } : { text: text.slice(0, at), stopped };
}
