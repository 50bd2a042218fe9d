/**
 * Shared pieces of the wire formats: the error every parser throws, the server's defaults, what a parser returns,
 * and strict readers for JSON fields. Pure: no I/O, no engine.
 *
 * Strictness: a field of the wrong type is refused (400, naming the field) instead of being coerced, because a
 * silently coerced value would give the client different bytes than it asked for. Fields the engine cannot honour
 * but that do not change the text (caching, slots, response shaping) are accepted and listed in `ignored`.
 */
import type { CompletionMode, CompletionRequest, RequestContext } from '../../engine/request/requests';
import type { CouplingKind } from '../../engine/decode/couplings/registry';

/**
 * A request refused before it reaches the engine. `status` is 400 for malformed fields and wrong values, 404 for an
 * unknown model (OpenAI's answer for it); the message is one line and names the field.
 */
export class BadRequest extends Error {
  readonly status: number;
  constructor(message: string, status = 400) {
    super(message);
    this.name = 'BadRequest';
    this.status = status;
  }
}

/** The server's generation defaults (`lockstep serve` options); a request's own fields win where given. */
export interface ServeDefaults {
  seed: number;
  temperature: number;
  topP: number;
  topK: number;
  maxTokens: number;
  /** Largest n_predict / max_tokens a client may ask for; more is a 400. */
  maxTokensLimit: number;
  coupling: CouplingKind;
  gamma: number | 'auto';
  drafter: string;
  /** The stop rule; `lockstep serve` should default to 'free', as llama-server and OpenAI do not stop at a line. */
  mode: CompletionMode;
  targetId: string;
  maxPromptTokens?: number;
  /** Prompt tokens /infill's input_extra may take (default 512, the extension's lockstep.context.budgetTokens). */
  contextBudgetTokens?: number;
}

export type WireFormat = 'infill' | 'completion' | 'openai';

export interface ParsedRequest {
  format: WireFormat;
  request: CompletionRequest;
  stream: boolean;
  /** Stop strings, cut after generation (applyStop); [] = none. */
  stop: string[];
  /** Time limit asked by the client (t_max_prompt_ms + t_max_predict_ms), ms; absent = none asked. */
  timeLimitMs?: number;
  /** Fields accepted but ignored (known no-ops and unknown keys), in body order. */
  ignored: string[];
  /** OpenAI stream_options.include_usage: a last chunk with `usage` before [DONE]. */
  includeUsage?: boolean;
  /** llama.cpp response_fields: answer only these (responseFields.ts); absent = the whole answer. */
  responseFields?: string[];
}

/** Lockstep's own fields on every answer; built by the server core. */
export interface LockstepMeta {
  seed: number;
  target: string;
  drafter: string;
  coupling: string;
  /** The `lockstep complete` command that gives the same bytes. */
  reproduce: string;
  request: CompletionRequest;
}

/** The extension's default `lockstep.context.budgetTokens` (the CLI's DEFAULT_CONTEXT_BUDGET, kept equal by a test). */
export const DEFAULT_SERVE_CONTEXT_BUDGET = 512;

export type JsonObject = Record<string, unknown>;

export function asObject(body: unknown): JsonObject {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequest(`body: expected a JSON object, got ${describe(body)}`);
  }
  return body as JsonObject;
}

/** A short name of a JSON value's type for error messages (never the value itself: it may be a prompt). */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'number') return Number.isInteger(v) ? `the integer ${v}` : `the number ${v}`;
  if (typeof v === 'boolean') return `${v}`;
  return `a${typeof v === 'object' ? 'n object' : ` ${typeof v}`}`;
}

/** Absent and null both mean "not given": clients (the openai package among them) send null for unset options. */
export function given(o: JsonObject, key: string): boolean {
  return Object.hasOwn(o, key) && o[key] !== null && o[key] !== undefined;
}

export function str(o: JsonObject, key: string): string | undefined {
  if (!given(o, key)) return undefined;
  const v = o[key];
  if (typeof v !== 'string') throw new BadRequest(`${key}: expected a string, got ${describe(v)}`);
  return v;
}

export function bool(o: JsonObject, key: string): boolean | undefined {
  if (!given(o, key)) return undefined;
  const v = o[key];
  if (typeof v !== 'boolean') throw new BadRequest(`${key}: expected true or false, got ${describe(v)}`);
  return v;
}

export interface NumberRule {
  integer?: boolean;
  min?: number;
  minExclusive?: boolean;
  max?: number;
  /** How the valid range reads in the message, e.g. "a number in (0, 1]". */
  expect: string;
}

export function num(o: JsonObject, key: string, rule: NumberRule): number | undefined {
  if (!given(o, key)) return undefined;
  const v = o[key];
  const ok = typeof v === 'number' && Number.isFinite(v) &&
    (!rule.integer || Number.isSafeInteger(v)) &&
    (rule.min === undefined || (rule.minExclusive ? v > rule.min : v >= rule.min)) &&
    (rule.max === undefined || v <= rule.max);
  if (!ok) throw new BadRequest(`${key}: expected ${rule.expect}, got ${describe(v)}`);
  return v as number;
}

export const TEMPERATURE: NumberRule = { min: 0, expect: 'a number ≥ 0' };
export const TOP_P: NumberRule = { min: 0, minExclusive: true, max: 1, expect: 'a number in (0, 1]' };
export const TOP_K: NumberRule = { integer: true, min: 0, expect: 'an integer ≥ 0' };

/**
 * `seed`: -1 or absent = the server's default seed. llama.cpp draws a random seed for -1; Lockstep does not, because a
 * completion must be reproducible from what the answer reports (the seed is in `lockstep.seed`).
 */
export function seedField(o: JsonObject, key: string, d: ServeDefaults): number {
  if (given(o, key) && o[key] === -1) return d.seed;
  return num(o, key, { integer: true, min: 0, max: Number.MAX_SAFE_INTEGER, expect: 'an integer from 0 to 2^53−1, or -1 for the server\'s seed' }) ?? d.seed;
}

/** A token ceiling within the server's limit (the limit is a safety bound: refused, never silently lowered). */
export function checkTokenLimit(key: string, n: number, d: ServeDefaults): number {
  if (n > d.maxTokensLimit) throw new BadRequest(`${key}: ${n} is over this server's limit of ${d.maxTokensLimit} tokens`);
  return n;
}

/** Stop strings: an array of non-empty strings (an empty one would cut every completion to nothing). */
export function stopArray(v: unknown, key: string, max?: number): string[] {
  if (!Array.isArray(v)) throw new BadRequest(`${key}: expected an array of strings, got ${describe(v)}`);
  if (max !== undefined && v.length > max) throw new BadRequest(`${key}: at most ${max} stop strings, got ${v.length}`);
  return v.map((s, i) => {
    if (typeof s !== 'string') throw new BadRequest(`${key}[${i}]: expected a string, got ${describe(s)}`);
    if (s === '') throw new BadRequest(`${key}[${i}]: a stop string cannot be empty`);
    return s;
  });
}

export interface RequestFields {
  before: string;
  after: string;
  seed: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  maxTokens?: number;
  context?: RequestContext;
}

/**
 * The CompletionRequest, built field for field as `lockstep complete` builds it (completeCommand.ts), so that the
 * same text and options give the same request and therefore the same bytes. maxPromptTokens is set only when the
 * server has one (the CLI never sets it).
 */
export function buildRequest(f: RequestFields, d: ServeDefaults): CompletionRequest {
  return {
    before: f.before,
    after: f.after,
    drafter: d.drafter,
    coupling: d.coupling,
    seed: f.seed,
    sampling: { temperature: f.temperature ?? d.temperature, topP: f.topP ?? d.topP, topK: f.topK ?? d.topK },
    gamma: d.gamma,
    maxTokens: f.maxTokens ?? d.maxTokens,
    mode: d.mode,
    ...(d.maxPromptTokens === undefined ? {} : { maxPromptTokens: d.maxPromptTokens }),
    ...(f.context === undefined ? {} : { context: f.context }),
  };
}

/** Keys of the body not in `handled`, in body order: accepted and ignored (reported back, never silently). */
export function ignoredKeys(o: JsonObject, handled: ReadonlySet<string>): string[] {
  return Object.keys(o).filter((k) => !handled.has(k));
}
