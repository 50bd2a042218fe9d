/**
 * The engine in its own process (src/engine/process/client.ts, engineServer.ts): the same bytes as the in-process engine;
 * latest wins with at most one request waiting; cancellation before the prefill and between prefill chunks; and
 * every way the process can fail — abort, exit, a call that hangs, a call that throws — rejects the request at once
 * with the reason, never leaving it pending, and never touches this process.
 */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { EngineClient, type EngineClientOptions } from '../../../src/engine/process/client';
import { TargetState, type CancelSignal } from '../../../src/engine/decode/decode';
import { Engine, type CompletionRequest, type EngineOptions } from '../../../src/engine/process/engine';
import { CausalLM } from '../../../src/engine/runtime/model';
import { DRAFTER_B_DIR, TARGET_DIR, seededIds } from '../../helpers/models';
import { heldOutPrompts } from '../../helpers/prompts';

const FAULTY = path.join(__dirname, '..', '..', 'helpers', 'faultyEngine.js');
const OPTIONS: EngineOptions = { target: TARGET_DIR, threads: 1, drafters: [{ name: 'b', dir: DRAFTER_B_DIR }] };
const prompts = heldOutPrompts(4, 4);

function request(i: number, over: Partial<CompletionRequest> = {}): CompletionRequest {
  return {
    before: prompts[i % prompts.length].before, after: prompts[i % prompts.length].after, drafter: 'b',
    coupling: 'gumbel', seed: i, sampling: { temperature: 0.7, topK: 0, topP: 1 }, gamma: 'auto', maxTokens: 24,
    mode: 'free', ...over,
  };
}

/** A client of the fault-injecting engine (test/helpers/faultyEngine.ts); the fault spec is read at fork time. */
function faulty(fault: string, opts: EngineClientOptions = {}): EngineClient {
  process.env.LOCKSTEP_TEST_FAULT = fault;
  try {
    return new EngineClient(OPTIONS, { script: FAULTY, ...opts });
  } finally {
    delete process.env.LOCKSTEP_TEST_FAULT;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the engine process', () => {
  let client: EngineClient;
  let local: Engine;
  before(async () => {
    client = new EngineClient(OPTIONS);
    local = await Engine.create(OPTIONS);
    await client.ready();
  });
  after(async () => {
    const pid = client.pid!;
    await client.dispose();
    await local.dispose();
    assert.equal(alive(pid), false, 'the engine process is gone after dispose');
  });

  test('gives the same bytes as the in-process engine, and the event loop keeps turning meanwhile', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    for (let i = 0; i < 3; i++) {
      const remote = await client.complete(request(i)).result;
      const here = await local.complete(request(i));
      assert.equal(remote.text, here.text);
      assert.equal(remote.cancelled, false);
    }
    clearInterval(timer);
    assert.ok(ticks > 0);
  });

  test('latest wins: a burst of 200 superseding requests keeps at most one waiting and serves the last', async () => {
    const before = { ...client.stats };
    const jobs = [];
    for (let i = 0; i < 200; i++) jobs.push(client.complete(request(i, { maxTokens: i === 0 ? 300 : 24 })));
    const results = await Promise.all(jobs.map((j) => j.result));
    assert.ok(client.stats.maxWaiting <= 1, `max waiting ${client.stats.maxWaiting}`);
    // The first one was sent (and cancelled at its first checkpoint); all others but the last were never sent.
    assert.equal(client.stats.sent - before.sent, 2);
    assert.equal(client.stats.notStarted - before.notStarted, 198);
    assert.ok(results.slice(0, 199).every((r) => r.cancelled), 'every superseded request resolves as cancelled');
    const last = results[199];
    assert.equal(last.cancelled, false);
    assert.equal(last.text, (await local.complete(request(199))).text);
  });

  test('cancel(id) resolves a waiting request at once, without a model call (and stops the earlier one)', async () => {
    const running = client.complete(request(1, { maxTokens: 300 }), false);
    const waiting = client.complete(request(2), false);
    const sent = client.stats.sent;
    client.cancel(waiting.id);
    const r = await waiting.result;
    assert.equal(r.cancelled, true);
    assert.equal(r.targetCalls, 0);
    assert.equal((await running.result).cancelled, true);
    assert.equal(client.stats.sent, sent, 'the cancelled request was never sent');
    assert.equal((await client.complete(request(3), false).result).cancelled, false);
  });
});

test('a cancellation between prefill chunks stops the prefill there', async () => {
  const model = await CausalLM.load(TARGET_DIR, { threads: 1 });
  const state = new TargetState(model);
  let checkpoints = 0;
  const signal: CancelSignal = { get cancelled() { return checkpoints > 1; }, checkpoint: async () => { checkpoints++; } };
  assert.equal(await state.sync(seededIds(300, 4000, 1), 100, signal), -1);
  assert.equal(state.fed.length, 100, 'one chunk fed, then cancelled');
  assert.equal(model.calls, 1);
  await model.dispose();
});

describe('an engine process that fails', () => {
  test('an abort inside a call rejects the request at once with the reason', async () => {
    const deaths: string[] = [];
    const c = faulty('abort', { onDeath: (r) => deaths.push(r) });
    await c.ready();
    await assert.rejects(c.complete(request(0)).result, /SIGABRT/);
    assert.equal(deaths.length, 1);
    assert.match(c.death ?? '', /killed by SIGABRT/);
    // later requests are refused at once too, never left pending
    await assert.rejects(c.complete(request(1)).result, /SIGABRT/);
    await c.dispose();
  });

  test('an exit rejects the running and the waiting request', async () => {
    const c = faulty('exit');
    await c.ready();
    const a = c.complete(request(0), false);
    const b = c.complete(request(1), false);
    await assert.rejects(a.result, /exited with code 3/);
    await assert.rejects(b.result, /exited with code 3/);
    await c.dispose();
  });

  test('the watchdog kills a call that hangs far past the slowest step measured', async () => {
    const deaths: string[] = [];
    const c = faulty('hang@2', { watchdog: { floorMs: 300, factor: 10 }, onDeath: (r) => deaths.push(r) });
    await c.ready();
    const first = await c.complete(request(0)).result;
    assert.equal(first.cancelled, false);
    assert.ok(c.slowest > 0);
    const pid = c.pid!;
    const t0 = performance.now();
    await assert.rejects(c.complete(request(1)).result, /watchdog/);
    const waited = performance.now() - t0;
    assert.ok(waited < Math.max(300, 10 * c.slowest) + 5000, `rejected after ${waited.toFixed(0)} ms`);
    assert.equal(deaths.length, 1);
    await c.dispose();
    assert.equal(alive(pid), false);
  });

  test('dispose kills an engine stuck in a call (a signal, never a thread termination)', async () => {
    const c = faulty('hang');
    await c.ready();
    const job = c.complete(request(0));
    await new Promise((r) => setTimeout(r, 200));
    const pid = c.pid!;
    const t0 = performance.now();
    await c.dispose(300);
    assert.ok(performance.now() - t0 < 3000);
    assert.equal(alive(pid), false);
    assert.equal((await job.result).cancelled, true);
  });

  test('a call that throws rejects with its message; the same process serves the next request', async () => {
    const c = faulty('throw');
    await c.ready();
    const pid = c.pid;
    await assert.rejects(c.complete(request(0)).result, /injected failure in the model call/);
    const next = await c.complete(request(0)).result;
    assert.equal(next.cancelled, false);
    assert.ok(next.tokens > 0);
    assert.equal(c.pid, pid);
    await c.dispose();
  });
});
