/**
 * `lockstep serve` through the clients people point at it: the official `openai` npm client (completions, streaming)
 * and request bodies shaped as llama.vscode and llama.vim send them to `/infill` (their warm-up request included).
 * Two servers run different drafters (`none`, `lockstep-drafter-b`), as separate processes: every answer must be
 * byte-identical across them, under concurrent load, and equal to `lockstep complete --request` with the request the
 * server reports it ran (the reproduction line each answer carries). docs/editors.md points the editors at it.
 */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import OpenAI from 'openai';
import { cliScript, startReplica, type Replica } from '../../bench/serve/procs';

const PREFIX = 'function average(values) {\n  let sum = 0;\n  for (const v of values) {\n    sum += v;\n  }\n';
const TYPED = '  return ';
const SUFFIX = '\n}\n';
const CHUNKS = [{ text: 'export function total(items) {\n  return items.reduce((s, x) => s + x.price, 0);\n}\n', time: 1, filename: 'cart.js' }];

let servers: Replica[] = [];
let tmp: string;

interface Lockstep { seed: number; target: string; drafter: string; coupling: string; reproduce: string; request: unknown }

/** The text `lockstep complete --request` gives for the request a server reports it ran. */
function reproduce(meta: Lockstep): string {
  const file = path.join(tmp, `request-${process.hrtime.bigint()}.json`);
  fs.writeFileSync(file, JSON.stringify(meta.request));
  const out = execFileSync(process.execPath, [cliScript(), 'complete', '--target', meta.target, '--threads', '1', '--request', file, '--json'], { encoding: 'utf8' });
  return (JSON.parse(out) as { text: string }).text;
}

async function post(server: Replica, route: string, body: unknown, client = 'test'): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(`${server.url}${route}`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-lockstep-client': client }, body: JSON.stringify(body),
  });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

/** llama.vscode's /infill body (its createRequestPayload: top_k 40, top_p 0.99, samplers, cache_prompt, n_indent, time limits). */
function llamaVscodeBody(): Record<string, unknown> {
  return {
    input_prefix: PREFIX, input_suffix: SUFFIX, input_extra: CHUNKS, prompt: TYPED, n_predict: 24,
    top_k: 40, top_p: 0.99, stream: false, samplers: ['top_k', 'top_p', 'infill'], cache_prompt: true, n_indent: 2,
    t_max_prompt_ms: 500, t_max_predict_ms: 0, seed: 11,
  };
}

/** llama.vim's FIM body (id_slot, stop strings, response_fields with nested timings). */
function llamaVimBody(): Record<string, unknown> {
  return {
    id_slot: 0, input_prefix: PREFIX, input_suffix: SUFFIX, input_extra: CHUNKS, prompt: TYPED, n_predict: 24,
    stop: [], n_indent: 2, top_k: 40, top_p: 0.90, samplers: ['top_k', 'top_p', 'infill'], stream: false,
    cache_prompt: true, t_max_prompt_ms: 500, t_max_predict_ms: 0, seed: 11,
    response_fields: ['content', 'timings/prompt_n', 'timings/prompt_ms', 'timings/predicted_n', 'timings/predicted_ms', 'timings/predicted_per_second', 'truncated', 'tokens_cached'],
  };
}

describe('lockstep serve with real clients, two drafters', () => {
  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-serve-clients-'));
    const common = ['--threads', '1', '--temperature', '0.7'];
    servers = await Promise.all([
      startReplica([...common, '--drafter', 'none']),
      startReplica([...common, '--drafter', 'lockstep-drafter-b']),
    ]);
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('the openai client: the same text from both servers, equal to lockstep complete; streaming joins to it', async () => {
    const texts: string[] = [];
    for (const s of servers) {
      const client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'none' });
      const models = await client.models.list();
      assert.deepEqual(models.data.map((m) => m.id), ['lockstep-target']);
      const r = await client.completions.create({ model: 'lockstep-target', prompt: PREFIX + TYPED, suffix: SUFFIX, max_tokens: 24, seed: 5 });
      const meta = (r as unknown as { lockstep: Lockstep }).lockstep;
      assert.equal(meta.seed, 5);
      assert.equal(r.choices[0].text, reproduce(meta));
      texts.push(r.choices[0].text);
      const stream = await client.completions.create({ model: 'lockstep-target', prompt: PREFIX + TYPED, suffix: SUFFIX, max_tokens: 24, seed: 5, stream: true });
      let joined = '';
      let finish: string | null = null;
      for await (const chunk of stream) {
        joined += chunk.choices[0]?.text ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      assert.equal(joined, r.choices[0].text);
      assert.ok(finish === 'stop' || finish === 'length', String(finish));
    }
    assert.ok(texts[0].length > 0, 'a completion');
    assert.equal(texts[0], texts[1], 'drafter none and lockstep-drafter-b give the same bytes');
  });

  test('a llama.vscode-shaped /infill: the same content from both servers, equal to lockstep complete; its warm-up answers empty', async () => {
    const answers = await Promise.all(servers.map((s) => post(s, '/infill', llamaVscodeBody())));
    for (const a of answers) {
      assert.equal(a.status, 200, JSON.stringify(a.json));
      assert.equal(typeof a.json.content, 'string');
      assert.equal(a.json.content, reproduce(a.json.lockstep as Lockstep));
    }
    assert.equal(answers[0].json.content, answers[1].json.content);
    assert.ok(String(answers[0].json.content).length > 0);
    const warm = await post(servers[0], '/infill', {
      input_prefix: '', input_suffix: '', input_extra: CHUNKS, prompt: '', n_predict: 0, samplers: [], cache_prompt: true,
      t_max_prompt_ms: 500, t_max_predict_ms: 1,
    });
    assert.equal(warm.status, 200, JSON.stringify(warm.json));
    assert.equal(warm.json.content, '');
  });

  test('a llama.vim-shaped /infill gets the fields it asks for, nested timings under their paths', async () => {
    const a = await post(servers[1], '/infill', llamaVimBody());
    assert.equal(a.status, 200, JSON.stringify(a.json));
    assert.deepEqual(Object.keys(a.json).sort(), ['content', 'lockstep', 'timings/predicted_ms', 'timings/predicted_n', 'timings/predicted_per_second',
      'timings/prompt_ms', 'timings/prompt_n', 'tokens_cached', 'truncated'].sort());
    assert.equal(a.json.content, reproduce(a.json.lockstep as Lockstep));
    const b = await post(servers[0], '/infill', llamaVimBody());
    assert.equal(a.json.content, b.json.content, 'the other drafter, the same text');
  });

  test('16 concurrent clients of both servers get the bytes one sequential client gets', async () => {
    const want = (await post(servers[0], '/infill', llamaVscodeBody(), 'alone')).json.content;
    const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => post(servers[i % 2], '/infill', llamaVscodeBody(), `client-${i}`)));
    for (const a of answers) {
      if (a.status === 503) continue; // a full queue says so (Retry-After); never a different text
      assert.equal(a.status, 200, JSON.stringify(a.json));
      assert.equal(a.json.content, want);
    }
    assert.ok(answers.filter((a) => a.status === 200).length >= 8);
  });
});
