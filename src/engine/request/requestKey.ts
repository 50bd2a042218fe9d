/**
 * One key for a completion request: the sha-256 of a canonical JSON of every field that can change the completion's
 * bytes. A completion cache keyed by it can never serve text made from another request.
 *
 * Each field of CompletionRequest is classified here, once: 'text' (it can change the bytes: keyed) or 'speed' (it
 * only changes how fast the same bytes come: left out). The Record type makes TypeScript refuse a new request field
 * that is not classified; test/engine/request/request-key.test.ts checks the same at run time.
 */
import { createHash } from 'node:crypto';
import { isInvariantCoupling } from '../decode/couplings/registry';
import type { CompletionRequest } from './requests';

export type FieldKind = 'text' | 'speed';

export const REQUEST_FIELDS = {
  before: 'text',
  after: 'text',
  // The drafter and γ only propose tokens; under a drafter-invariant coupling the target's coupled sample decides
  // (under one that is not, keyedFields keys them).
  drafter: 'speed',
  gamma: 'speed',
  coupling: 'text',
  seed: 'text',
  sampling: 'text',
  maxTokens: 'text',
  mode: 'text',
  maxPromptTokens: 'text',
  context: 'text',
} as const satisfies Record<keyof CompletionRequest, FieldKind>;

/** The fields that can change the text. */
export type TextField = { [K in keyof CompletionRequest]: (typeof REQUEST_FIELDS)[K] extends 'text' ? K : never }[keyof CompletionRequest];

export interface KeyOptions {
  /**
   * 'text' fields the caller compares itself (the editor's cache compares the text around the cursor, allowing for a
   * completion typed along); they are left out of the key.
   */
  omit?: readonly TextField[];
  /** What decides the text besides the request, e.g. the target model (the request does not name it). */
  scope?: Readonly<Record<string, string | number | boolean | undefined>>;
}

/** The fields of `req` that decide its text (undefined ones left out: absent and undefined are the same request). */
export function keyedFields(req: CompletionRequest, omit: readonly TextField[] = []): Record<string, unknown> {
  // Where the coupling is not drafter-invariant (standard speculative sampling) the drafter and γ decide the text too.
  const invariant = isInvariantCoupling(req.coupling);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(req) as (keyof CompletionRequest)[]) {
    const kind: FieldKind | undefined = REQUEST_FIELDS[k];
    // An unclassified field (from a caller outside the type) is keyed: a needless miss is safe, a wrong hit is not.
    if ((kind === 'speed' && invariant) || (omit as readonly string[]).includes(k) || req[k] === undefined) continue;
    out[k] = req[k];
  }
  return out;
}

/** The request's key: hex sha-256 of the canonical JSON of its keyed fields (and the scope, when given). */
export function requestKey(req: CompletionRequest, opts: KeyOptions = {}): string {
  const fields = keyedFields(req, opts.omit);
  const doc = opts.scope === undefined ? fields : { request: fields, scope: opts.scope };
  return createHash('sha256').update(canonicalJson(doc)).digest('hex');
}

/** JSON with object keys sorted at every depth and undefined properties dropped: equal values give equal text. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') return JSON.stringify(Object.is(v, -0) ? 0 : v);
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : canonicalJson(x))).join(',')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const parts: string[] = [];
    for (const k of Object.keys(o).sort()) {
      if (o[k] !== undefined) parts.push(`${JSON.stringify(k)}:${canonicalJson(o[k])}`);
    }
    return `{${parts.join(',')}}`;
  }
  throw new TypeError(`requestKey: a ${typeof v} has no JSON form`);
}
