/**
 * llama.cpp's `response_fields`: the client names the answer fields it wants, a nested one as a path ("timings/
 * prompt_n"), and gets only those, each under its path as the key (llama-server's flattening: llama.vim reads
 * `response['timings/prompt_n']`). A path that names nothing is left out. Lockstep's own `lockstep` field is kept
 * on every answer, as the server promises (reproduction line, seed, models).
 */
import { BadRequest, type JsonObject } from './fields';

/** The field list of a body (undefined: not asked, the whole answer). */
export function responseFields(o: JsonObject): string[] | undefined {
  const v = o.response_fields;
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((f) => typeof f === 'string')) {
    throw new BadRequest('response_fields: expected an array of field names (strings)');
  }
  return v as string[];
}

/** The answer cut to `fields` (plus `lockstep`); the whole answer when `fields` is undefined. */
export function pickResponseFields(answer: Record<string, unknown>, fields: readonly string[] | undefined): Record<string, unknown> {
  if (fields === undefined) return answer;
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (f === '') continue;
    let at: unknown = answer;
    for (const part of f.split('/')) {
      at = typeof at === 'object' && at !== null && !Array.isArray(at) ? (at as Record<string, unknown>)[part] : undefined;
    }
    if (at !== undefined) out[f] = at;
  }
  if (answer.lockstep !== undefined) out.lockstep = answer.lockstep;
  return out;
}
