/**
 * `lockstep serve`'s rules over a stand-in engine (test/helpers/serveStub.ts): one request at a time in arrival
 * order, latest wins per client, 503 on a full queue, every bad input refused with its status before the engine is
 * called, the token, CORS, the time limit, a client hanging up, and the graceful shutdown.
 */
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { main } from '../../src/cli/main';
import { bearerMatches, isLoopback } from '../../src/server/auth';
import { startStub, type StubServer } from '../helpers/serveStub';

const BODY = { before: 'function f() {\n  return ', after: '\n}\n', seed: 1 };

function post(s: StubServer, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(`${s.url}/lockstep/v1/complete`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body), signal,
  });
}

async function errorOf(r: Response): Promise<string> {
  const j = (await r.json()) as { error: string };
  assert.equal(typeof j.error, 'string');
  assert.doesNotMatch(j.error, /\n/, 'one line');
  return j.error;
}

describe('lockstep serve: queue', () => {
  test('requests run one at a time, in arrival order', async () => {
    const s = await startStub();
    const answers = [1, 2, 3].map((seed) => post(s, { ...BODY, seed }));
    await s.engine.started(1);
    assert.equal(s.engine.calls.length, 1, 'one at a time');
    for (let i = 0; i < 3; i++) {
      await s.engine.started(i + 1);
      s.engine.release();
    }
    const texts = await Promise.all(answers.map(async (a) => ((await (await a).json()) as { text: string }).text));
    assert.deepEqual(texts, ['text:1', 'text:2', 'text:3']);
    assert.deepEqual(s.engine.calls.map((c) => c.seed), [1, 2, 3]);
    await s.server.close();
  });

  test("a client's newer request replaces its waiting one (409 superseded); other clients keep theirs", async () => {
    const s = await startStub();
    const running = post(s, { ...BODY, seed: 1 }, { 'X-Lockstep-Client': 'a' });
    await s.engine.started(1);
    const old = post(s, { ...BODY, seed: 2 }, { 'X-Lockstep-Client': 'a' });
    const other = post(s, { ...BODY, seed: 3 }, { 'X-Lockstep-Client': 'b' });
    await new Promise((r) => setTimeout(r, 50));
    const newer = post(s, { ...BODY, seed: 4 }, { 'X-Lockstep-Client': 'a' });
    const replaced = await old;
    assert.equal(replaced.status, 409);
    assert.equal(await errorOf(replaced), 'superseded');
    for (let i = 1; i <= 3; i++) {
      await s.engine.started(i);
      s.engine.release();
    }
    assert.equal((await running).status, 200);
    assert.equal(((await (await other).json()) as { text: string }).text, 'text:3');
    assert.equal(((await (await newer).json()) as { text: string }).text, 'text:4');
    assert.deepEqual(s.engine.calls.map((c) => c.seed), [1, 3, 4], 'the superseded request never reached the engine');
    await s.server.close();
  });

  test('a full queue answers 503 with Retry-After at once', async () => {
    const s = await startStub({ queue: 2 });
    const held = [1, 2, 3].map((seed) => post(s, { ...BODY, seed }));
    await s.engine.started(1);
    await new Promise((r) => setTimeout(r, 50));
    const full = await post(s, { ...BODY, seed: 9 });
    assert.equal(full.status, 503);
    assert.equal(full.headers.get('retry-after'), '1');
    assert.match(await errorOf(full), /queue is full/);
    for (let i = 1; i <= 3; i++) {
      await s.engine.started(i);
      s.engine.release();
    }
    await Promise.all(held);
    assert.ok(!s.engine.calls.some((c) => c.seed === 9));
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(metrics, /lockstep_requests_total\{route="\/lockstep\/v1\/complete",status="503"\} 1/);
    assert.match(metrics, /lockstep_queue_length_max 2/);
    await s.server.close();
  });

  test('a client that hangs up cancels its request: a waiting one never runs, a running one is stopped', async () => {
    const s = await startStub();
    const a = new AbortController();
    const first = post(s, { ...BODY, seed: 1 }, {}, a.signal).catch(() => 'aborted');
    await s.engine.started(1);
    const b = new AbortController();
    const second = post(s, { ...BODY, seed: 2 }, {}, b.signal).catch(() => 'aborted');
    await new Promise((r) => setTimeout(r, 50));
    // One after the other: the waiting one leaves the queue before the running one stops (else the next would start).
    const answered = async (n: number): Promise<void> => {
      while (s.logs.filter((l) => / 499 /.test(l)).length < n) await new Promise((r) => setTimeout(r, 10));
    };
    b.abort();
    await answered(1);
    a.abort();
    await answered(2);
    assert.equal(await first, 'aborted');
    assert.equal(await second, 'aborted');
    const third = post(s, { ...BODY, seed: 3 });
    await s.engine.started(2);
    s.engine.release();
    assert.equal((await third).status, 200);
    assert.deepEqual(s.engine.aborted.map((c) => c.seed), [1]);
    assert.deepEqual(s.engine.calls.map((c) => c.seed), [1, 3]);
    await s.server.close();
  });

  test('a request past the time limit is stopped: 504', async () => {
    const s = await startStub({ timeLimitMs: 200 });
    const r = await post(s, BODY);
    assert.equal(r.status, 504);
    assert.match(await errorOf(r), /took over 0.2 s/);
    assert.equal(s.engine.aborted.length, 1);
    await s.server.close();
  });
});

describe('lockstep serve: bad input never reaches the engine', () => {
  const cases: [string, Parameters<typeof startStub>[0], unknown, Record<string, string>, number, RegExp][] = [
    ['bad JSON', {}, '{"before": ', {}, 400, /not JSON/],
    ['not an object', {}, '[1]', {}, 400, /JSON object/],
    ['no body', {}, '', {}, 400, /no body/],
    ['a wrong type', {}, { ...BODY, seed: 'x' }, {}, 400, /^seed must be an integer/],
    ['a nested wrong type', {}, { ...BODY, sampling: { topP: 2 } }, {}, 400, /^sampling.topP must be a number in \(0, 1\]/],
    ['an unknown field', {}, { ...BODY, temprature: 1 }, {}, 400, /unknown field temprature/],
    ['missing before', {}, { after: '' }, {}, 400, /before .* is required/],
    ['too many tokens', { maxTokensLimit: 32 }, { ...BODY, maxTokens: 33 }, {}, 400, /asks for 33 tokens; .* limit is 32/],
    ['a prompt budget over the limit', { maxPromptTokens: 100 }, { ...BODY, maxPromptTokens: 101 }, {}, 400, /101-token prompt/],
    ['a drafter not loaded', {}, { ...BODY, drafter: 'other-model' }, {}, 400, /drafter 'other-model' is not loaded/],
    ['an unknown model', {}, { ...BODY, model: 'gpt-4' }, {}, 404, /unknown model 'gpt-4'/],
    ['a model of the wrong type', {}, { ...BODY, model: 3 }, {}, 400, /model must be a string/],
    ['a body over the limit', { maxBodyBytes: 64 }, { ...BODY, before: 'x'.repeat(100) }, {}, 413, /over the limit of 64 bytes/],
    ['no token', { token: 'sesame' }, BODY, {}, 401, /needs a token/],
    ['a wrong token', { token: 'sesame' }, BODY, { Authorization: 'Bearer sesamf' }, 401, /wrong token/],
    ['a token of another length', { token: 'sesame' }, BODY, { Authorization: 'Bearer s' }, 401, /wrong token/],
  ];
  for (const [name, config, body, headers, status, message] of cases) {
    test(`${name} → ${status}`, async () => {
      const s = await startStub(config);
      const r = await post(s, body, headers);
      assert.equal(r.status, status);
      assert.match(await errorOf(r), message);
      if (status === 401) assert.equal(r.headers.get('www-authenticate'), 'Bearer');
      assert.equal(s.engine.calls.length, 0, 'the engine was not called');
      await s.server.close();
    });
  }

  for (const [route, body, status, message] of [
    ['/v1/completions', { model: 'gpt-4', prompt: 'x' }, 404, /model: 'gpt-4' is not served here/],
    ['/v1/completions', { prompt: 3 }, 400, /^prompt: expected a string/],
    ['/infill', { input_prefix: 'x', n_predict: 'many' }, 400, /n_predict/],
    ['/completion', '{"prompt": ', 400, /not JSON/],
  ] as const) {
    test(`${route}: ${typeof body === 'string' ? 'bad JSON' : JSON.stringify(body)} → ${status}`, async () => {
      const s = await startStub();
      const r = await fetch(`${s.url}${route}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
      assert.equal(r.status, status);
      assert.match(await errorOf(r), message);
      assert.equal(s.engine.calls.length, 0, 'the engine was not called');
      await s.server.close();
    });
  }

  test('the right token passes; /health needs none; a loading engine answers 503 without a call', async () => {
    const s = await startStub({ token: 'sesame' });
    assert.equal((await fetch(`${s.url}/health`)).status, 200);
    assert.equal((await fetch(`${s.url}/v1/models`)).status, 401);
    const ok = post(s, BODY, { Authorization: 'Bearer sesame' });
    await s.engine.started(1);
    s.engine.release();
    assert.equal((await ok).status, 200);
    s.engine.setState({ kind: 'loading', target: 't' });
    const h = await fetch(`${s.url}/health`);
    assert.equal(h.status, 503);
    assert.deepEqual(await h.json(), { status: 'loading' });
    const r = await post(s, BODY, { Authorization: 'Bearer sesame' });
    assert.equal(r.status, 503);
    assert.equal(r.headers.get('retry-after'), '2');
    assert.equal(s.engine.calls.length, 1);
    await s.server.close();
  });

  test('the token check compares digests (any length, constant time) and needs the Bearer scheme', () => {
    assert.equal(bearerMatches('Bearer sesame', 'sesame'), true);
    assert.equal(bearerMatches('bearer sesame', 'sesame'), true);
    assert.equal(bearerMatches('sesame', 'sesame'), false);
    assert.equal(bearerMatches(undefined, 'sesame'), false);
    assert.equal(bearerMatches('Bearer sesame-and-more', 'sesame'), false);
  });

  test('loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.8.9.1', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) assert.equal(isLoopback(h), true, h);
    for (const h of ['0.0.0.0', '::', '192.168.1.2', 'example.com', '10.0.0.1']) assert.equal(isLoopback(h), false, h);
  });

  test('lockstep serve refuses a non-loopback host without a token: exit 2, one line, nothing loaded', async () => {
    let stderr = '';
    let stdout = '';
    const saved = process.env.LOCKSTEP_TOKEN;
    delete process.env.LOCKSTEP_TOKEN;
    try {
      const code = await main(['serve', '--host', '0.0.0.0', '--port', '0'], { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), readStdin: async () => '', cwd: process.cwd() });
      assert.equal(code, 2);
      assert.equal(stdout, '');
      assert.match(stderr, /^lockstep: refusing to listen on 0\.0\.0\.0 without a token: .*LOCKSTEP_TOKEN\n$/);
    } finally {
      if (saved !== undefined) process.env.LOCKSTEP_TOKEN = saved;
    }
  });

  test('CORS headers only with --cors; a preflight is answered then', async () => {
    const off = await startStub();
    const r = await fetch(`${off.url}/health`, { headers: { Origin: 'http://evil.example' } });
    assert.equal(r.headers.get('access-control-allow-origin'), null);
    assert.equal((await fetch(`${off.url}/health`, { method: 'OPTIONS' })).status, 405);
    await off.server.close();
    const on = await startStub({ cors: 'http://app.example' });
    const pre = await fetch(`${on.url}/lockstep/v1/complete`, { method: 'OPTIONS' });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'http://app.example');
    assert.match(pre.headers.get('access-control-allow-headers') ?? '', /Authorization/);
    await on.server.close();
  });

  test('prompts are not logged unless --log-prompts', async () => {
    for (const logPrompts of [false, true]) {
      const s = await startStub({ logPrompts });
      const r = post(s, { ...BODY, before: 'SECRET_PROMPT' });
      await s.engine.started(1);
      s.engine.release();
      assert.equal((await r).status, 200);
      assert.equal(s.logs.some((l) => l.includes('SECRET_PROMPT')), logPrompts, s.logs.join('\n'));
      await s.server.close();
    }
  });

  test('a slow client cannot hold the server: Node\'s header and request time limits are set', async () => {
    const s = await startStub({ headersTimeoutMs: 1234, requestTimeoutMs: 5678 });
    const inner = (s.server as unknown as { http: http.Server }).http;
    assert.equal(inner.headersTimeout, 1234);
    assert.equal(inner.requestTimeout, 5678);
    await s.server.close();
  });
});

describe('lockstep serve: graceful shutdown', () => {
  test('close(): new requests 503, waiting ones 503, the running one finishes within the deadline', async () => {
    const s = await startStub({ shutdownDeadlineMs: 5000 });
    const running = post(s, { ...BODY, seed: 1 });
    await s.engine.started(1);
    const waiting = post(s, { ...BODY, seed: 2 });
    await new Promise((r) => setTimeout(r, 50));
    const closed = s.server.close();
    const w = await waiting;
    assert.equal(w.status, 503);
    assert.match(await errorOf(w), /shutting down/);
    s.engine.release();
    const r = await running;
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as { text: string }).text, 'text:1');
    await closed;
    assert.deepEqual(s.engine.calls.map((c) => c.seed), [1]);
  });

  test('close(): a running request past the deadline is cancelled and answered 503', async () => {
    const s = await startStub({ shutdownDeadlineMs: 100 });
    const running = post(s, BODY);
    await s.engine.started(1);
    await s.server.close();
    const r = await running;
    assert.equal(r.status, 503);
    assert.match(await errorOf(r), /shutting down/);
    assert.equal(s.engine.aborted.length, 1);
  });
});
