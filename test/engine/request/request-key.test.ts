/**
 * requestKey (src/engine/request/requestKey.ts): every request field is classified 'text' or 'speed'; a change of
 * anything that can change the completion's bytes changes the key, a change of speed alone does not, and the key
 * does not depend on the order of an object's keys.
 */
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { REQUEST_FIELDS, canonicalJson, requestKey } from '../../../src/engine/request/requestKey';
import type { CompletionRequest } from '../../../src/engine/request/requests';

/** A request with every field given: a new field in CompletionRequest must be added here (Required<>) and classified. */
const FULL: Required<CompletionRequest> = {
  before: 'function add(a, b) {\n  return ',
  after: '\n}\n',
  drafter: 'prompt-lookup+lockstep-drafter-a',
  coupling: 'gumbel',
  seed: 7,
  sampling: { temperature: 0.2, topP: 0.95, topK: 40 },
  gamma: 4,
  maxTokens: 64,
  mode: 'line',
  maxPromptTokens: 1024,
  context: {
    path: 'src/add.js',
    repoName: 'demo',
    snippets: [{ path: 'src/util.js', text: 'export const sum = (xs) => xs.reduce((s, x) => s + x, 0);' }],
    budgetTokens: 256,
  },
};

/** One changed value per field, nested ones too: each is a different request. */
const CHANGES: Record<keyof CompletionRequest, ((r: Required<CompletionRequest>) => CompletionRequest)[]> = {
  before: [(r) => ({ ...r, before: `${r.before} ` })],
  after: [(r) => ({ ...r, after: '' })],
  drafter: [(r) => ({ ...r, drafter: 'none' }), (r) => ({ ...r, drafter: 'prompt-lookup' })],
  coupling: [(r) => ({ ...r, coupling: 'wmh' })],
  seed: [(r) => ({ ...r, seed: 8 })],
  sampling: [
    (r) => ({ ...r, sampling: { ...r.sampling, temperature: 0.3 } }),
    (r) => ({ ...r, sampling: { ...r.sampling, topP: 1 } }),
    (r) => ({ ...r, sampling: { ...r.sampling, topK: 0 } }),
  ],
  gamma: [(r) => ({ ...r, gamma: 'auto' }), (r) => ({ ...r, gamma: 8 })],
  maxTokens: [(r) => ({ ...r, maxTokens: 65 })],
  mode: [(r) => ({ ...r, mode: 'block' })],
  maxPromptTokens: [(r) => ({ ...r, maxPromptTokens: 512 }), ({ maxPromptTokens: _, ...r }) => r],
  context: [
    (r) => ({ ...r, context: { ...r.context, snippets: [{ ...r.context.snippets[0], text: `${r.context.snippets[0].text}\n` }] } }),
    (r) => ({ ...r, context: { ...r.context, snippets: [{ ...r.context.snippets[0], path: 'src/other.js' }] } }),
    (r) => ({ ...r, context: { ...r.context, snippets: [...r.context.snippets, { path: 'b.js', text: 'b' }] } }),
    (r) => ({ ...r, context: { ...r.context, path: 'src/add2.js' } }),
    (r) => ({ ...r, context: { ...r.context, repoName: 'demo2' } }),
    (r) => ({ ...r, context: { ...r.context, budgetTokens: 128 } }),
    ({ context: _, ...r }) => r,
  ],
};

const fieldsOf = (kind: 'text' | 'speed'): (keyof CompletionRequest)[] =>
  (Object.keys(REQUEST_FIELDS) as (keyof CompletionRequest)[]).filter((k) => REQUEST_FIELDS[k] === kind);

describe('requestKey', () => {
  test('every field of a full request is classified as text or speed, and nothing else is', () => {
    assert.deepEqual(Object.keys(FULL).sort(), Object.keys(REQUEST_FIELDS).sort());
    for (const k of Object.keys(REQUEST_FIELDS) as (keyof CompletionRequest)[]) {
      assert.ok(REQUEST_FIELDS[k] === 'text' || REQUEST_FIELDS[k] === 'speed', `${k}: ${String(REQUEST_FIELDS[k])}`);
    }
    // What only changes the speed; everything else can change the bytes.
    assert.deepEqual(fieldsOf('speed').sort(), ['drafter', 'gamma']);
    assert.deepEqual(Object.keys(CHANGES).sort(), Object.keys(REQUEST_FIELDS).sort(), 'a change to try for every field');
  });

  test('a change of any text field, nested ones included, changes the key', () => {
    const base = requestKey(FULL);
    const seen = new Set([base]);
    for (const k of fieldsOf('text')) {
      for (const [i, change] of CHANGES[k].entries()) {
        const key = requestKey(change(FULL));
        assert.notEqual(key, base, `${k} (change ${i}) left the key as it was`);
        seen.add(key);
      }
    }
    assert.equal(seen.size, 1 + fieldsOf('text').reduce((n, k) => n + CHANGES[k].length, 0), 'every change gives its own key');
  });

  test('a change of a speed field alone leaves the key as it is, for every drafter-invariant coupling', () => {
    for (const coupling of ['gumbel', 'wmh'] as const) {
      const req = { ...FULL, coupling };
      for (const k of fieldsOf('speed')) {
        for (const change of CHANGES[k]) assert.equal(requestKey(change(req)), requestKey(req), `${coupling}: ${k}`);
      }
    }
  });

  test('under standard speculative sampling (not drafter-invariant) the drafter and γ are keyed', () => {
    const req = { ...FULL, coupling: 'standard' as const };
    for (const k of fieldsOf('speed')) {
      for (const change of CHANGES[k]) assert.notEqual(requestKey(change(req)), requestKey(req), k);
    }
  });

  test('the order of keys in the request and in its nested objects does not matter', () => {
    const reversed = (o: object): Record<string, unknown> => Object.fromEntries(Object.entries(o).reverse());
    const shuffled = {
      ...reversed({ ...FULL, sampling: reversed(FULL.sampling), context: reversed({ ...FULL.context, snippets: FULL.context.snippets.map(reversed) }) }),
    } as unknown as CompletionRequest;
    assert.notEqual(JSON.stringify(shuffled), JSON.stringify(FULL));
    assert.equal(requestKey(shuffled), requestKey(FULL));
  });

  test('an absent field and an undefined one are the same request', () => {
    const { context: _, ...without } = FULL;
    assert.equal(requestKey({ ...without, context: undefined }), requestKey(without));
  });

  test('omitted fields and the scope', () => {
    const omit = ['before', 'after'] as const;
    assert.equal(requestKey({ ...FULL, before: 'x' }, { omit }), requestKey(FULL, { omit }));
    assert.notEqual(requestKey({ ...FULL, seed: 9 }, { omit }), requestKey(FULL, { omit }));
    assert.notEqual(requestKey(FULL, { scope: { target: '/m/a' } }), requestKey(FULL, { scope: { target: '/m/b' } }));
    assert.notEqual(requestKey(FULL, { scope: { target: '/m/a' } }), requestKey(FULL));
  });

  test('canonical JSON: sorted keys at every depth, undefined properties dropped, arrays in order', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [2, 1], c: undefined } }), '{"a":{"d":[2,1]},"b":1}');
    assert.equal(canonicalJson({ a: -0 }), '{"a":0}');
    assert.throws(() => canonicalJson({ f: () => 1 }), TypeError);
  });
});
