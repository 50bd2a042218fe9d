/**
 * `lockstep serve` on the shipped models (engine in its own process, --threads 1): the native endpoint's text equals
 * `lockstep complete --request` byte for byte with the request the answer carries, for servers running different
 * drafters; eight concurrent clients get the bytes they get one by one; /health, /v1/models, /lockstep/v1/info and
 * /metrics answer.
 */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startServe, type StartedServer } from '../../src/cli/serveCommand';
import { packageRoot } from '../../src/models/catalog';
import type { NativeAnswer } from '../../src/server/routes';
import { PREFIX, SUFFIX, run } from '../helpers/cli';

const root = packageRoot();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-serve-'));
const servers = new Map<string, StartedServer>();
const DRAFTERS = ['none', 'prompt-lookup', 'lockstep-drafter-b', 'auto'];
const BODY = { before: PREFIX, after: SUFFIX, seed: 7, maxTokens: 24, mode: 'free', sampling: { temperature: 0.8 } };

async function start(drafter: string): Promise<StartedServer> {
  const io = { stdout: () => undefined, stderr: () => undefined, readStdin: async () => '', cwd: root };
  const s = await startServe(['--port', '0', '--threads', '1', '--drafter', drafter], io, {});
  assert.ok(s);
  for (;;) {
    const h = await fetch(`${s.url}/health`);
    if (h.status === 200) break;
    assert.notEqual(((await h.json()) as { status: string }).status, 'error');
    await new Promise((r) => setTimeout(r, 100));
  }
  return s;
}

async function complete(s: StartedServer, body: unknown): Promise<NativeAnswer> {
  const r = await fetch(`${s.url}/lockstep/v1/complete`, { method: 'POST', body: JSON.stringify(body) });
  assert.equal(r.status, 200, await r.clone().text());
  return (await r.json()) as NativeAnswer;
}

before(async () => {
  for (const d of DRAFTERS) servers.set(d, await start(d));
});
after(async () => {
  for (const s of servers.values()) await s.server.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('lockstep serve (native endpoint)', () => {
  test('the same bytes as `lockstep complete --request`, whatever drafter the server runs', async () => {
    const texts: string[] = [];
    for (const d of DRAFTERS) {
      const a = await complete(servers.get(d)!, BODY);
      assert.equal(a.text, a.result.text);
      assert.equal(a.lockstep.seed, 7);
      assert.equal(a.lockstep.target, 'lockstep-target');
      assert.equal(a.lockstep.drafter, d);
      assert.equal(a.lockstep.coupling, 'gumbel');
      assert.match(a.lockstep.reproduce, /lockstep complete --target lockstep-target --request request\.json$/);
      assert.ok(a.text.length > 0);
      const file = path.join(tmp, `request-${d}.json`);
      fs.writeFileSync(file, JSON.stringify(a.lockstep.request));
      const cli = await run('complete', '--target', 'lockstep-target', '--request', file);
      assert.equal(cli.code, 0, cli.stderr);
      assert.equal(cli.stdout, a.text, `drafter ${d}: the server's bytes equal the CLI's`);
      texts.push(a.text);
    }
    assert.equal(new Set(texts).size, 1, `one text whatever the drafter: ${JSON.stringify(texts)}`);
  });

  test('eight concurrent clients get the bytes they get one at a time', async () => {
    const s = servers.get('lockstep-drafter-b')!;
    const bodies = Array.from({ length: 8 }, (_, i) => ({ ...BODY, seed: 100 + i, maxTokens: 12 }));
    const sequential: string[] = [];
    for (const b of bodies) sequential.push((await complete(s, b)).text);
    const concurrent = await Promise.all(bodies.map((b, i) => fetch(`${s.url}/lockstep/v1/complete`, {
      method: 'POST', body: JSON.stringify(b), headers: { 'X-Lockstep-Client': `client-${i}` },
    }).then(async (r) => ((await r.json()) as NativeAnswer).text)));
    assert.deepEqual(concurrent, sequential);
  });

  test('llama.cpp /infill and OpenAI /v1/completions run the same request: the same bytes as the native endpoint', async () => {
    const s = servers.get('prompt-lookup')!;
    const r = await fetch(`${s.url}/infill`, { method: 'POST', body: JSON.stringify({
      input_prefix: PREFIX, input_suffix: SUFFIX, input_extra: [], prompt: '', n_predict: 16, seed: 5, temperature: 0.7, cache_prompt: true,
      t_max_prompt_ms: 500, t_max_predict_ms: 1000,
    }) });
    assert.equal(r.status, 200);
    const infill = (await r.json()) as { content: string; lockstep: NativeAnswer['lockstep'] };
    const native = await complete(s, infill.lockstep.request);
    assert.equal(infill.content, native.text);
    const o = await fetch(`${s.url}/v1/completions`, { method: 'POST', body: JSON.stringify({ model: 'lockstep-target', prompt: PREFIX, suffix: SUFFIX, max_tokens: 16, seed: 5, temperature: 0.7, stream: true }) });
    assert.equal(o.status, 200);
    assert.match(o.headers.get('content-type') ?? '', /text\/event-stream/);
    const events = (await o.text()).split('\n\n').filter((e) => e.startsWith('data: '));
    assert.equal(events.at(-1), 'data: [DONE]');
    const text = events.slice(0, -1).map((e) => (JSON.parse(e.slice(6)) as { choices: { text: string }[] }).choices[0]?.text ?? '').join('');
    assert.equal(text, infill.content, 'OpenAI and llama.cpp formats give the same bytes for the same settings');
  });

  test('/health, /v1/models, /lockstep/v1/info and /metrics', async () => {
    const s = servers.get('auto')!;
    assert.deepEqual(await (await fetch(`${s.url}/health`)).json(), { status: 'ok' });
    const models = (await (await fetch(`${s.url}/v1/models`)).json()) as { data: { id: string }[] };
    assert.deepEqual(models.data.map((m) => m.id), ['lockstep-target']);
    const info = (await (await fetch(`${s.url}/lockstep/v1/info`)).json()) as { drafters: string[]; maxPositions: number };
    assert.ok(info.drafters.includes('lockstep-drafter-b'));
    assert.ok(info.maxPositions > 0);
    const m = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(m, /lockstep_requests_total\{route="\/lockstep\/v1\/complete",status="200"\} [1-9]/);
    assert.match(m, /lockstep_tokens_generated_total [1-9]/);
    assert.match(m, /lockstep_engine_ready 1/);
    assert.match(m, /lockstep_engine_restarts_total 0/);
    assert.match(m, /lockstep_request_duration_seconds_count [1-9]/);
  });
});
