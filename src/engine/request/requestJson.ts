/**
 * A CompletionRequest read from JSON (`lockstep complete --request FILE`, the server's native endpoint): every field
 * checked, with one line saying which field is wrong and why, so that nothing malformed ever reaches the engine.
 * Absent fields take the caller's defaults; unknown fields are refused (a misspelt `temprature` silently ignored
 * would give other bytes than the caller meant).
 */
import type { CompletionMode, CompletionRequest, RequestContext } from './requests';
import type { SamplingSettings } from '../decode/types';
import { COUPLING_IDS } from '../decode/couplings/registry';

export class RequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RequestError';
  }
}

/** What an absent field becomes. */
export type RequestDefaults = Pick<CompletionRequest, 'drafter' | 'coupling' | 'seed' | 'sampling' | 'gamma' | 'maxTokens' | 'mode'>;

const MODES: readonly CompletionMode[] = ['line', 'block', 'free'];
const FIELDS = ['before', 'after', 'drafter', 'coupling', 'seed', 'sampling', 'gamma', 'maxTokens', 'mode', 'maxPromptTokens', 'context'];

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
}

function object(v: unknown, field: string): Obj {
  if (!isObject(v)) throw new RequestError(`${field} must be an object, got ${typeName(v)}`);
  return v;
}

function onlyKnown(o: Obj, known: readonly string[], where: string): void {
  const extra = Object.keys(o).filter((k) => !known.includes(k));
  if (extra.length > 0) throw new RequestError(`unknown field${extra.length > 1 ? 's' : ''} ${extra.map((k) => `${where}${k}`).join(', ')} (known: ${known.join(', ')})`);
}

function string(v: unknown, field: string): string {
  if (typeof v !== 'string') throw new RequestError(`${field} must be a string, got ${typeName(v)}`);
  return v;
}

function integer(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new RequestError(`${field} must be an integer from ${min} to ${max}, got ${JSON.stringify(v) ?? typeName(v)}`);
  }
  return v;
}

function number(v: unknown, field: string, ok: (x: number) => boolean, range: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new RequestError(`${field} must be ${range}, got ${JSON.stringify(v) ?? typeName(v)}`);
  return v;
}

function oneOf<T extends string>(v: unknown, field: string, values: readonly T[]): T {
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) throw new RequestError(`${field} must be one of ${values.join(', ')}, got ${JSON.stringify(v) ?? typeName(v)}`);
  return v as T;
}

function sampling(v: unknown, d: SamplingSettings): SamplingSettings {
  if (v === undefined) return { ...d };
  const o = object(v, 'sampling');
  onlyKnown(o, ['temperature', 'topK', 'topP'], 'sampling.');
  return {
    temperature: o.temperature === undefined ? d.temperature : number(o.temperature, 'sampling.temperature', (x) => x >= 0, 'a number ≥ 0'),
    topK: o.topK === undefined ? d.topK : integer(o.topK, 'sampling.topK', 0, 1_000_000),
    topP: o.topP === undefined ? d.topP : number(o.topP, 'sampling.topP', (x) => x > 0 && x <= 1, 'a number in (0, 1]'),
  };
}

function context(v: unknown): RequestContext {
  const o = object(v, 'context');
  onlyKnown(o, ['path', 'repoName', 'snippets', 'budgetTokens'], 'context.');
  if (!Array.isArray(o.snippets)) throw new RequestError(`context.snippets must be an array, got ${typeName(o.snippets)}`);
  return {
    path: string(o.path, 'context.path'),
    repoName: string(o.repoName, 'context.repoName'),
    snippets: o.snippets.map((s: unknown, i) => {
      const so = object(s, `context.snippets[${i}]`);
      onlyKnown(so, ['path', 'text'], `context.snippets[${i}].`);
      return { path: string(so.path, `context.snippets[${i}].path`), text: string(so.text, `context.snippets[${i}].text`) };
    }),
    budgetTokens: integer(o.budgetTokens, 'context.budgetTokens', 0, 1_000_000),
  };
}

/** The request `body` describes; throws RequestError (one line) on anything wrong. */
export function parseCompletionRequest(body: unknown, d: RequestDefaults): CompletionRequest {
  const o = object(body, 'the request');
  onlyKnown(o, FIELDS, '');
  if (o.before === undefined) throw new RequestError('before (the text before the cursor) is required');
  const req: CompletionRequest = {
    before: string(o.before, 'before'),
    after: o.after === undefined ? '' : string(o.after, 'after'),
    drafter: o.drafter === undefined ? d.drafter : string(o.drafter, 'drafter'),
    coupling: o.coupling === undefined ? d.coupling : oneOf(o.coupling, 'coupling', COUPLING_IDS),
    seed: o.seed === undefined ? d.seed : integer(o.seed, 'seed', 0, Number.MAX_SAFE_INTEGER),
    sampling: sampling(o.sampling, d.sampling),
    gamma: o.gamma === undefined ? d.gamma : o.gamma === 'auto' ? 'auto' : integer(o.gamma, 'gamma', 0, 32),
    maxTokens: o.maxTokens === undefined ? d.maxTokens : integer(o.maxTokens, 'maxTokens', 1, 4096),
    mode: o.mode === undefined ? d.mode : oneOf(o.mode, 'mode', MODES),
  };
  if (o.maxPromptTokens !== undefined) req.maxPromptTokens = integer(o.maxPromptTokens, 'maxPromptTokens', 1, 1_000_000);
  if (o.context !== undefined) req.context = context(o.context);
  return req;
}
