/**
 * `lockstep serve` wire formats (src/server/formats): each parser gives the CompletionRequest `lockstep complete`
 * builds for the same text and options; every bad field is a BadRequest naming it; stop strings cut; answers and
 * server-sent events have the formats' shapes and the same text. Pure: no server, no engine.
 */
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { DEFAULT_CONTEXT_BUDGET } from '../../src/cli/contextFiles';
import type { CompletionMode, CompletionRequest, CompletionResult } from '../../src/engine/request/requests';
import {
  BadRequest, DEFAULT_SERVE_CONTEXT_BUDGET, SSE_DONE, applyStop, completionAnswer, infillAnswer, infillStreamEvents,
  openAiAnswer, openAiStreamEvents, parseCompletion, parseInfill, parseOpenAiCompletion, pickResponseFields, splitFimPrompt,
  type LockstepMeta, type ParsedRequest, type ServeDefaults,
} from '../../src/server/formats';

const D: ServeDefaults = {
  seed: 0, temperature: 0.2, topP: 1, topK: 0, maxTokens: 64, maxTokensLimit: 512, coupling: 'gumbel',
  gamma: 'auto', drafter: 'prompt-lookup', mode: 'free', targetId: 'lockstep-target',
};

interface CliOptions {
  seed?: number; temperature?: number; 'top-p'?: number; 'top-k'?: number; 'max-tokens'?: number; mode?: CompletionMode;
  drafter?: string;
}

/**
 * The request `lockstep complete --prefix P --suffix S [options]` builds: completeCommand.ts builds it inline (no
 * exported builder), so this mirrors it line for line — keep the two in step.
 */
function cliRequest(before: string, after: string, o: CliOptions): CompletionRequest {
  return {
    before,
    after,
    drafter: o.drafter ?? 'prompt-lookup',
    coupling: 'gumbel',
    seed: o.seed ?? 0,
    sampling: { temperature: o.temperature ?? 0.2, topP: o['top-p'] ?? 1, topK: o['top-k'] ?? 0 },
    gamma: 'auto',
    maxTokens: o['max-tokens'] ?? 64,
    mode: o.mode ?? 'block',
  };
}

function bad(f: () => unknown, field: string, status = 400): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof BadRequest, `expected BadRequest, got ${String(e)}`);
    assert.equal(e.status, status);
    assert.ok(e.message.startsWith(field), `message should name ${field}: ${e.message}`);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
}

function result(text: string, over: Partial<CompletionResult> = {}): CompletionResult {
  return {
    text, tokens: 7, promptTokens: 40, targetCalls: 3, drafterCalls: 0, drafted: 6, accepted: 4, acceptance: 4 / 6,
    seconds: 0.5, prefillSeconds: 0.1, targetSeconds: 0.4, drafterSeconds: 0, rounds: 2, tokensPerSecond: 14,
    stopReason: 'eos', cancelled: false, drafter: 'prompt-lookup', coupling: 'gumbel', seed: 0, ...over,
  };
}

function meta(p: ParsedRequest): LockstepMeta {
  return { seed: p.request.seed, target: D.targetId, drafter: D.drafter, coupling: D.coupling, reproduce: 'lockstep complete …', request: p.request };
}

const PREFIX = 'function add(a, b) {\n';
const TYPED = '  return ';
const SUFFIX = '\n}\n';

describe('/infill', () => {
  test('maps fields exactly and equals the lockstep complete request', () => {
    const p = parseInfill({
      input_prefix: PREFIX, prompt: TYPED, input_suffix: SUFFIX, n_predict: 32, temperature: 0, top_k: 40, top_p: 0.99,
      seed: 7, stop: ['\n\n'], stream: true, t_max_prompt_ms: 500, t_max_predict_ms: 1000, cache_prompt: true, n_indent: 2,
    }, D);
    assert.equal(p.format, 'infill');
    assert.deepEqual(p.request, cliRequest(PREFIX + TYPED, SUFFIX, {
      seed: 7, temperature: 0, 'top-k': 40, 'top-p': 0.99, 'max-tokens': 32, mode: 'free',
    }));
    assert.equal(p.stream, true);
    assert.deepEqual(p.stop, ['\n\n']);
    assert.equal(p.timeLimitMs, 1500);
    assert.deepEqual(p.ignored, ['cache_prompt', 'n_indent']);
  });

  test('absent fields and -1 take the server defaults (seed -1 is the server seed, not random)', () => {
    const p = parseInfill({ input_prefix: PREFIX, n_predict: -1, seed: -1 }, D);
    assert.deepEqual(p.request, cliRequest(PREFIX, '', { mode: 'free' }));
    assert.equal(p.stream, false);
    assert.deepEqual(p.stop, []);
    assert.equal(p.timeLimitMs, undefined);
    assert.equal(parseInfill({}, { ...D, seed: 99 }).request.seed, 99);
  });

  test('input_extra → context in llama-server order, repo/file words, the budget', () => {
    const p = parseInfill({
      input_prefix: PREFIX, input_suffix: SUFFIX,
      input_extra: [{ filename: 'a.js', text: 'const A = 1;\n', time: 3 }, { filename: 'b.js', text: 'const B = 2;\n' }],
    }, D);
    assert.deepEqual(p.request.context, {
      path: 'filename', repoName: 'myproject', budgetTokens: DEFAULT_SERVE_CONTEXT_BUDGET,
      snippets: [{ path: 'b.js', text: 'const B = 2;\n' }, { path: 'a.js', text: 'const A = 1;\n' }],
    });
    assert.equal(DEFAULT_SERVE_CONTEXT_BUDGET, DEFAULT_CONTEXT_BUDGET);
    assert.equal(parseInfill({ input_extra: [{ text: 'x' }] }, { ...D, contextBudgetTokens: 100 }).request.context?.budgetTokens, 100);
    assert.equal(parseInfill({ input_extra: [{ text: 'x' }] }, D).request.context?.snippets[0].path, '');
    assert.equal(parseInfill({ input_extra: [] }, D).request.context, undefined);
  });

  test('n_predict 0 (cache warm-up) parses to maxTokens 0', () => {
    assert.equal(parseInfill({ n_predict: 0 }, D).request.maxTokens, 0);
  });

  test('maxPromptTokens is passed only when the server sets one', () => {
    assert.equal(parseInfill({}, { ...D, maxPromptTokens: 900 }).request.maxPromptTokens, 900);
    assert.equal('maxPromptTokens' in parseInfill({}, D).request, false);
  });

  test('bad types and values are 400s naming the field', () => {
    bad(() => parseInfill('x', D), 'body');
    bad(() => parseInfill([], D), 'body');
    bad(() => parseInfill({ input_prefix: 3 }, D), 'input_prefix');
    bad(() => parseInfill({ input_suffix: [] }, D), 'input_suffix');
    bad(() => parseInfill({ prompt: {} }, D), 'prompt');
    bad(() => parseInfill({ temperature: '0.2' }, D), 'temperature');
    bad(() => parseInfill({ temperature: -1 }, D), 'temperature');
    bad(() => parseInfill({ top_k: 1.5 }, D), 'top_k');
    bad(() => parseInfill({ top_k: -1 }, D), 'top_k');
    bad(() => parseInfill({ top_p: 0 }, D), 'top_p');
    bad(() => parseInfill({ top_p: 1.1 }, D), 'top_p');
    bad(() => parseInfill({ seed: -2 }, D), 'seed');
    bad(() => parseInfill({ seed: 1.5 }, D), 'seed');
    bad(() => parseInfill({ seed: '1' }, D), 'seed');
    bad(() => parseInfill({ n_predict: 513 }, D), 'n_predict');
    bad(() => parseInfill({ n_predict: -2 }, D), 'n_predict');
    bad(() => parseInfill({ n_predict: '5' }, D), 'n_predict');
    bad(() => parseInfill({ stop: '\n' }, D), 'stop');
    bad(() => parseInfill({ stop: [1] }, D), 'stop[0]');
    bad(() => parseInfill({ stop: [''] }, D), 'stop[0]');
    bad(() => parseInfill({ stream: 'yes' }, D), 'stream');
    bad(() => parseInfill({ t_max_predict_ms: -5 }, D), 't_max_predict_ms');
    bad(() => parseInfill({ t_max_prompt_ms: 'x' }, D), 't_max_prompt_ms');
    bad(() => parseInfill({ input_extra: {} }, D), 'input_extra');
    bad(() => parseInfill({ input_extra: ['x'] }, D), 'input_extra[0]');
    bad(() => parseInfill({ input_extra: [{ filename: 'a' }] }, D), 'input_extra[0].text');
    bad(() => parseInfill({ input_extra: [{ filename: 1, text: '' }] }, D), 'input_extra[0].filename');
    bad(() => parseInfill({ grammar: 'root ::= "a"' }, D), 'grammar');
    bad(() => parseInfill({ json_schema: {} }, D), 'json_schema');
  });

  test('a llama.vscode-shaped body (createRequestPayload) and its warm-up body parse', () => {
    const chunks = [{ text: 'export const x = 1;\n', time: 1700000000, filename: 'src/x.ts' }];
    const p = parseInfill({
      input_prefix: PREFIX, input_suffix: SUFFIX, input_extra: chunks, prompt: TYPED, n_predict: 128,
      top_k: 40, top_p: 0.99, stream: false, samplers: ['top_k', 'top_p', 'infill'], cache_prompt: true,
      n_indent: 2, t_max_prompt_ms: 500, t_max_predict_ms: 1000, lora: [{ id: 0, scale: 0.5 }],
    }, D);
    assert.equal(p.request.before, PREFIX + TYPED);
    assert.equal(p.request.sampling.temperature, D.temperature);
    assert.deepEqual(p.ignored, ['samplers', 'cache_prompt', 'n_indent', 'lora']);
    const warm = parseInfill({
      input_prefix: '', input_suffix: '', input_extra: chunks, prompt: '', n_predict: 0, samplers: [],
      cache_prompt: true, t_max_prompt_ms: 500, t_max_predict_ms: 1,
    }, D);
    assert.equal(warm.request.maxTokens, 0);
  });

  test('a llama.vim-shaped body (with id_slot, response_fields, model) parses', () => {
    const p = parseInfill({
      id_slot: 0, input_prefix: PREFIX, input_suffix: SUFFIX,
      input_extra: [{ text: 'def f():\n    pass\n', time: 12.5, filename: 'f.py' }], prompt: TYPED, n_predict: 128,
      stop: [], n_indent: 4, top_k: 40, top_p: 0.90, samplers: ['top_k', 'top_p', 'infill'], stream: false,
      cache_prompt: true, t_max_prompt_ms: 500, t_max_predict_ms: 1000, model: ' ',
      response_fields: ['content', 'timings/prompt_n', 'timings/predicted_n', 'truncated', 'tokens_cached'],
    }, D);
    assert.deepEqual(p.request.sampling, { temperature: 0.2, topK: 40, topP: 0.9 });
    assert.deepEqual(p.stop, []);
    assert.ok(p.ignored.includes('id_slot') && p.ignored.includes('model'));
    // response_fields as llama-server answers it: only those fields, nested ones under their path, plus `lockstep`.
    assert.deepEqual(p.responseFields, ['content', 'timings/prompt_n', 'timings/predicted_n', 'truncated', 'tokens_cached']);
    const a = pickResponseFields(infillAnswer(p, result('return x;'), meta(p)), p.responseFields);
    assert.deepEqual(Object.keys(a), ['content', 'timings/prompt_n', 'timings/predicted_n', 'truncated', 'tokens_cached', 'lockstep']);
    assert.equal(a.content, 'return x;');
    assert.equal(a['timings/predicted_n'], 7);
    assert.deepEqual(pickResponseFields({ content: 'x' }, ['content', 'no/such', '']), { content: 'x' });
    bad(() => parseInfill({ input_prefix: '', response_fields: 'content' }, D), 'response_fields');
  });
});

describe('/completion', () => {
  test('a Qwen/Lockstep FIM prompt splits into before/after; text after the middle marker joins before', () => {
    const prompt = `<|fim_prefix|>${PREFIX}<|fim_suffix|>${SUFFIX}<|fim_middle|>${TYPED}`;
    const p = parseCompletion({ prompt, n_predict: 16, temperature: 0 }, D, 'qwen2.5-coder');
    assert.equal(p.format, 'completion');
    assert.deepEqual(p.request, cliRequest(PREFIX + TYPED, SUFFIX, { 'max-tokens': 16, temperature: 0, mode: 'free' }));
    assert.deepEqual(parseCompletion({ prompt: [prompt] }, D).request.after, SUFFIX);
  });

  test('other families and plain prompts', () => {
    assert.deepEqual(splitFimPrompt('<fim_prefix>a<fim_suffix>b<fim_middle>'), { before: 'a', after: 'b', template: 'starcoder' });
    assert.deepEqual(splitFimPrompt('<｜fim▁begin｜>a<｜fim▁hole｜>b<｜fim▁end｜>'), { before: 'a', after: 'b', template: 'deepseek-coder' });
    assert.deepEqual(splitFimPrompt('def f():\n'), { before: 'def f():\n', after: '' });
    // With the target's template given, another family's markers are the text they are.
    assert.deepEqual(splitFimPrompt('<fim_prefix>a', 'qwen2.5-coder'), { before: '<fim_prefix>a', after: '' });
    assert.deepEqual(parseCompletion({ prompt: PREFIX }, D).request, cliRequest(PREFIX, '', { mode: 'free' }));
  });

  test('malformed FIM prompts, token ids and bad options are 400s', () => {
    bad(() => parseCompletion({ prompt: '<|fim_suffix|>b<|fim_prefix|>a<|fim_middle|>' }, D), 'prompt');
    bad(() => parseCompletion({ prompt: '<|fim_prefix|>a<|fim_middle|>' }, D), 'prompt');
    bad(() => parseCompletion({ prompt: '<|fim_prefix|>a<|fim_prefix|><|fim_suffix|><|fim_middle|>' }, D), 'prompt');
    bad(() => parseCompletion({ prompt: '<|repo_name|>r\n<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>' }, D), 'prompt');
    bad(() => parseCompletion({ prompt: [1, 2, 3] }, D), 'prompt');
    bad(() => parseCompletion({ prompt: ['a', 'b'] }, D), 'prompt');
    bad(() => parseCompletion({}, D), 'prompt');
    bad(() => parseCompletion({ prompt: 5 }, D), 'prompt');
    bad(() => parseCompletion({ prompt: 'x', top_p: '1' }, D), 'top_p');
  });
});

describe('/v1/completions', () => {
  test('maps fields exactly and equals the lockstep complete request', () => {
    const p = parseOpenAiCompletion({
      model: 'lockstep-target', prompt: PREFIX, suffix: SUFFIX, max_tokens: 20, temperature: 0.5, top_p: 0.9, seed: 3,
      stop: '\n\n', stream: true, stream_options: { include_usage: true }, n: 1, echo: false, logprobs: null,
      best_of: 1, presence_penalty: 0, frequency_penalty: 0, user: 'u1',
    }, D);
    assert.equal(p.format, 'openai');
    assert.deepEqual(p.request, cliRequest(PREFIX, SUFFIX, { 'max-tokens': 20, temperature: 0.5, 'top-p': 0.9, seed: 3, mode: 'free' }));
    assert.deepEqual(p.stop, ['\n\n']);
    assert.equal(p.stream, true);
    assert.equal(p.includeUsage, true);
    assert.deepEqual(p.ignored, ['user']);
    // What the openai client sends for unset options (null) and no model field.
    const q = parseOpenAiCompletion({ prompt: [PREFIX], suffix: null, max_tokens: null, stop: null, seed: null }, D);
    assert.deepEqual(q.request, cliRequest(PREFIX, '', { mode: 'free' }));
  });

  test('bad values are 400s naming the field; an unknown model is a 404', () => {
    bad(() => parseOpenAiCompletion({ model: 'gpt-4', prompt: 'x' }, D), 'model', 404);
    bad(() => parseOpenAiCompletion({ model: 3, prompt: 'x' }, D), 'model');
    bad(() => parseOpenAiCompletion({ prompt: ['a', 'b'] }, D), 'prompt');
    bad(() => parseOpenAiCompletion({ prompt: [[1, 2]] }, D), 'prompt');
    bad(() => parseOpenAiCompletion({ prompt: 'x', suffix: 1 }, D), 'suffix');
    bad(() => parseOpenAiCompletion({ prompt: 'x', max_tokens: 0 }, D), 'max_tokens');
    bad(() => parseOpenAiCompletion({ prompt: 'x', max_tokens: 10_000 }, D), 'max_tokens');
    bad(() => parseOpenAiCompletion({ prompt: 'x', temperature: 2.5 }, D), 'temperature');
    bad(() => parseOpenAiCompletion({ prompt: 'x', stop: ['a', 'b', 'c', 'd', 'e'] }, D), 'stop');
    bad(() => parseOpenAiCompletion({ prompt: 'x', stop: 4 }, D), 'stop');
    bad(() => parseOpenAiCompletion({ prompt: 'x', n: 2 }, D), 'n');
    bad(() => parseOpenAiCompletion({ prompt: 'x', n: '1' }, D), 'n');
    bad(() => parseOpenAiCompletion({ prompt: 'x', best_of: 3 }, D), 'best_of');
    bad(() => parseOpenAiCompletion({ prompt: 'x', echo: true }, D), 'echo');
    bad(() => parseOpenAiCompletion({ prompt: 'x', logprobs: 2 }, D), 'logprobs');
    bad(() => parseOpenAiCompletion({ prompt: 'x', presence_penalty: 0.5 }, D), 'presence_penalty');
    bad(() => parseOpenAiCompletion({ prompt: 'x', frequency_penalty: 1 }, D), 'frequency_penalty');
    bad(() => parseOpenAiCompletion({ prompt: 'x', logit_bias: { 5: 1 } }, D), 'logit_bias');
    bad(() => parseOpenAiCompletion({ prompt: 'x', stream: 1 }, D), 'stream');
    bad(() => parseOpenAiCompletion({ prompt: 'x', stream_options: { include_usage: true } }, D), 'stream_options');
    bad(() => parseOpenAiCompletion({ prompt: 'x', seed: -3 }, D), 'seed');
  });
});

describe('stop strings', () => {
  test('cut before the earliest stop string; ties go to the first listed', () => {
    assert.deepEqual(applyStop('a;b\nc', ['\n', ';']), { text: 'a', stopped: ';' });
    assert.deepEqual(applyStop('abc', ['x']), { text: 'abc', stopped: undefined });
    assert.deepEqual(applyStop('abcd', ['bc', 'b']), { text: 'a', stopped: 'bc' });
    assert.deepEqual(applyStop('abc', []), { text: 'abc', stopped: undefined });
  });
});

describe('answers', () => {
  const p = parseInfill({ input_prefix: PREFIX, stop: ['\n'] }, D);

  test('llama.cpp answer fields; stop_type word/limit/eos', () => {
    const a = infillAnswer(p, result('a + b;\n}'), meta(p));
    assert.equal(a.content, 'a + b;');
    assert.equal(a.stop, true);
    assert.equal(a.stop_type, 'word');
    assert.equal(a.stopping_word, '\n');
    assert.equal(a.tokens_predicted, 7);
    assert.equal(a.tokens_evaluated, 40);
    assert.deepEqual(a.lockstep, meta(p));
    const t = a.timings as Record<string, number>;
    assert.equal(t.prompt_n, 40);
    assert.equal(t.predicted_n, 7);
    assert.ok(Math.abs(t.prompt_ms - 100) < 1e-9 && Math.abs(t.predicted_ms - 400) < 1e-9);
    assert.ok(Math.abs(t.predicted_per_second - 17.5) < 1e-9);
    assert.equal(completionAnswer(p, result('x', { stopReason: 'maxTokens' }), meta(p)).stop_type, 'limit');
    assert.equal(infillAnswer(p, result('x', { stopReason: 'block' }), meta(p)).stop_type, 'eos');
    assert.equal(infillAnswer(p, result('x', { stopReason: 'cancelled', cancelled: true }), meta(p)).stop_type, 'limit');
  });

  test('llama.cpp stream: contents concatenate to the answer, last event stop:true with timings', () => {
    for (const text of ['a + b;\n}', '', 'no stop here']) {
      const events = infillStreamEvents(p, result(text), meta(p));
      const parsed = events.map((e) => {
        assert.match(e, /^data: [^\n]*\n\n$/);
        return JSON.parse(e.slice(6)) as Record<string, unknown>;
      });
      assert.equal(parsed.map((x) => x.content).join(''), infillAnswer(p, result(text), meta(p)).content);
      const last = parsed[parsed.length - 1];
      assert.equal(last.stop, true);
      assert.ok(last.timings !== undefined && last.lockstep !== undefined);
      assert.ok(parsed.slice(0, -1).every((x) => x.stop === false));
    }
  });

  test('OpenAI answer: text_completion, finish_reason, usage, lockstep', () => {
    const q = parseOpenAiCompletion({ prompt: PREFIX, stop: ['\n'] }, D);
    const a = openAiAnswer(q, result('a + b;\n}'), meta(q), 'cmpl-1', 1700000000);
    assert.deepEqual(a, {
      id: 'cmpl-1', object: 'text_completion', created: 1700000000, model: 'lockstep-target',
      choices: [{ text: 'a + b;', index: 0, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 40, completion_tokens: 7, total_tokens: 47 }, lockstep: meta(q),
    });
    const len = openAiAnswer(q, result('abc', { stopReason: 'maxTokens' }), meta(q), 'c', 1);
    assert.equal((len.choices as { finish_reason: string }[])[0].finish_reason, 'length');
  });

  test('OpenAI stream: chunks concatenate to the answer text and end with [DONE]', () => {
    for (const includeUsage of [false, true]) {
      const q = parseOpenAiCompletion({ prompt: PREFIX, stop: ['\n'], stream: true, ...(includeUsage ? { stream_options: { include_usage: true } } : {}) }, D);
      for (const text of ['a + b;\n}', '']) {
        const events = openAiStreamEvents(q, result(text), meta(q), 'cmpl-2', 5);
        assert.equal(events[events.length - 1], SSE_DONE);
        const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)) as { choices: { text: string; finish_reason: string | null }[]; usage?: unknown; object: string });
        assert.ok(chunks.every((c) => c.object === 'text_completion'));
        const texts = chunks.flatMap((c) => c.choices.map((x) => x.text)).join('');
        assert.equal(texts, (openAiAnswer(q, result(text), meta(q), 'cmpl-2', 5).choices as { text: string }[])[0].text);
        const finishes = chunks.flatMap((c) => c.choices.map((x) => x.finish_reason)).filter((x) => x !== null);
        assert.deepEqual(finishes, ['stop']);
        const last = chunks[chunks.length - 1];
        if (includeUsage) assert.deepEqual(last, { id: 'cmpl-2', object: 'text_completion', created: 5, model: 'lockstep-target', choices: [], usage: { prompt_tokens: 40, completion_tokens: 7, total_tokens: 47 } });
        else assert.equal(last.usage, undefined);
      }
    }
  });
});
