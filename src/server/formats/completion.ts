/**
 * llama.cpp's `POST /completion` (Continue's and Tabby's llama.cpp kinds): a raw `prompt` string the client has
 * already put in its FIM template. The engine takes only the text before and after the cursor and writes the
 * template itself (with the target's marker tokens as special ids), so the prompt is split back:
 *  (a) `<PRE>before<SUF>after<MID>typed` in a known template's markers (PSM order) → before + typed, after;
 *  (b) no marker at all → a plain prefix: before = prompt, after = ''.
 * Anything else with markers (another order, a marker twice, text before the prefix marker such as a repository
 * header) is refused: guessing would complete a different prompt than the one sent.
 */
import { FIM_TEMPLATES, FIM_TEMPLATE_NAMES, type FimTemplate, type FimTemplateId } from '../../engine/prompt/fim';
import { BadRequest, asObject, describe, type ParsedRequest, type ServeDefaults } from './fields';
import { finishLlama } from './infill';

export interface SplitPrompt {
  before: string;
  after: string;
  /** The template whose markers were found (absent: a plain prefix). */
  template?: FimTemplateId;
}

/** Templates to recognise: the target's own when known, else every known family (distinct marker triples). */
function candidates(only: FimTemplateId | undefined): FimTemplate[] {
  const ids = only === undefined ? FIM_TEMPLATE_NAMES : [only];
  const seen = new Set<string>();
  const out: FimTemplate[] = [];
  for (const id of ids) {
    const t = FIM_TEMPLATES[id];
    const key = `${t.prefix}\u0000${t.suffix}\u0000${t.middle}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(t);
    }
  }
  return out;
}

function count(s: string, marker: string): number {
  let n = 0;
  for (let i = s.indexOf(marker); i >= 0; i = s.indexOf(marker, i + marker.length)) n++;
  return n;
}

/** Splits a FIM-formatted prompt (see the module comment); `template` restricts it to the target's markers. */
export function splitFimPrompt(prompt: string, template?: FimTemplateId): SplitPrompt {
  for (const t of candidates(template)) {
    const markers = [t.prefix, t.suffix, t.middle];
    const counts = markers.map((m) => count(prompt, m));
    if (counts.every((c) => c === 0)) continue;
    const shape = `${t.prefix}…${t.suffix}…${t.middle}`;
    if (counts.some((c) => c !== 1)) {
      throw new BadRequest(`prompt: expected each of ${t.prefix}, ${t.suffix}, ${t.middle} once (${shape}), found ${counts.join(', ')}`);
    }
    const [p, s, m] = markers.map((x) => prompt.indexOf(x));
    if (!(p < s && s < m)) throw new BadRequest(`prompt: FIM markers must be in prefix-suffix-middle order (${shape})`);
    if (p !== 0) {
      throw new BadRequest(`prompt: text before ${t.prefix} (e.g. a repository header) is not supported; send cross-file context to /infill as input_extra`);
    }
    return {
      before: prompt.slice(p + t.prefix.length, s) + prompt.slice(m + t.middle.length),
      after: prompt.slice(s + t.suffix.length, m),
      template: t.id,
    };
  }
  return { before: prompt, after: '' };
}

const COMPLETION_HANDLED = new Set(['prompt', 'n_predict', 'temperature', 'top_k', 'top_p', 'seed', 'stop', 'stream', 't_max_predict_ms', 't_max_prompt_ms']);

/** The prompt: a string, or an array holding one string; token ids and several prompts are refused. */
function promptText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    if (v.length === 1 && typeof v[0] === 'string') return v[0];
    if (v.some((x) => typeof x === 'number' || Array.isArray(x))) throw new BadRequest('prompt: token-id prompts are not supported; send the text');
    throw new BadRequest(`prompt: expected one string, got an array of ${v.length}`);
  }
  if (v === undefined || v === null) throw new BadRequest('prompt: missing');
  throw new BadRequest(`prompt: expected a string, got ${describe(v)}`);
}

/** `/completion`; `template` is the target's FIM template id when the server knows it (recommended). */
export function parseCompletion(body: unknown, d: ServeDefaults, template?: FimTemplateId): ParsedRequest {
  const o = asObject(body);
  const split = splitFimPrompt(promptText(o.prompt), template);
  return finishLlama('completion', o, d, split.before, split.after, undefined, COMPLETION_HANDLED);
}
