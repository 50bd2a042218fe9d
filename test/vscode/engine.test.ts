/**
 * The extension's engine host (src/engine/process/engineHost.ts) on the shipped models: restarts only when needed, keeps
 * loaded drafters, and the same seed gives the same text through every drafter it serves.
 */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CompletionRequest } from '../../src/engine/process/engine';
import { loadCatalog } from '../../src/models/catalog';
import { describeDevice } from '../../src/vscode/deviceNotice';
import { EngineHost, type EngineHostOptions } from '../../src/engine/process/engineHost';
import type { EngineState } from '../../src/engine/process/engineState';
import { planEngine, type ModelEnv } from '../../src/vscode/enginePlan';
import { DEFAULT_SETTINGS } from '../../src/vscode/settings';

const env: ModelEnv = { catalog: loadCatalog(), cacheDir: os.tmpdir(), baseDir: os.tmpdir() };
const plan = (drafter: string) => planEngine({ ...DEFAULT_SETTINGS, drafter, threads: 1 }, env);
const logs: string[] = [];
const states: EngineState['kind'][] = [];
const log = {
  debug: (m: string) => logs.push(`debug ${m}`),
  info: (m: string) => logs.push(`info ${m}`),
  warn: (m: string) => logs.push(`warn ${m}`),
  error: (m: string) => logs.push(`error ${m}`),
};
const host = new EngineHost(log, (s) => states.push(s.kind));

const request = (drafter: string, seed = 3): CompletionRequest => ({
  before: 'function sum(xs) {\n  let total = 0;\n  for (const x of xs) {\n    ',
  after: '\n  }\n  return total;\n}\n',
  drafter, coupling: 'gumbel', seed, sampling: { temperature: 0.8, topP: 1, topK: 0 }, gamma: 'auto', maxTokens: 24, mode: 'block',
});

describe('EngineHost', () => {
  before(async () => {
    assert.equal(host.configure(plan('lockstep-drafter-a').options), true);
    await host.ready();
  });
  after(async () => {
    await host.dispose();
  });

  test('loading → ready, with load time and the device (as the engine describes it) in the log', async () => {
    assert.deepEqual(states.slice(0, 2), ['loading', 'ready']);
    assert.ok(logs.some((l) => /^info loading target .*; device: auto/.test(l)), logs.join('\n'));
    const info = await host.ready();
    assert.equal(info.device.requested, 'auto');
    assert.ok(logs.some((l) => l.startsWith('info engine ready in ') && l.includes(`; ${describeDevice(info.device)}; exactness: `)), logs.join('\n'));
    // The exactness verdict follows the device, with whether it was probed now or read from the cache.
    assert.ok(logs.some((l) => /; exactness: fp32 on cpu, 1 thread: exact with calls of ≥ 2 tokens \(120\/120 rows equal\) \((cached|probed in [\d.]+ s)\)$/.test(l)), logs.join('\n'));
  });

  test('the ready state carries the device outcome (the controller\'s notice and tooltip read it)', async () => {
    const seen: EngineState[] = [];
    const other = new EngineHost(log, (s) => seen.push(s));
    other.configure({ ...plan('none').options, device: 'cpu' });
    const info = await other.ready();
    await other.dispose();
    assert.deepEqual(seen.at(-1), { kind: 'ready', device: info.device });
    assert.equal(info.device.used, 'cpu');
    assert.equal(info.device.fellBack, false);
  });

  test('a drafter that needs no new model does not restart the engine', () => {
    assert.equal(host.configure(plan('none').options), false);
    assert.equal(host.configure(plan('prompt-lookup+lockstep-drafter-a').options), false);
  });

  test('a new drafter model restarts it, keeping the drafters already loaded', async () => {
    assert.equal(host.configure(plan('lockstep-drafter-b').options), true);
    await host.ready();
    assert.deepEqual(host.current?.drafters?.map((d) => d.name), ['lockstep-drafter-a', 'lockstep-drafter-b']);
    assert.equal(host.configure(plan('lockstep-drafter-a').options), false);
  });

  test('the same seed gives byte-identical text through every drafter', async () => {
    const texts = new Map<string, string>();
    for (const d of ['none', 'prompt-lookup', 'lockstep-drafter-a', 'lockstep-drafter-b', 'prompt-lookup+lockstep-drafter-b']) {
      const r = await host.complete(request(d), false).result;
      assert.equal(r.cancelled, false);
      texts.set(d, r.text);
    }
    assert.equal(new Set(texts.values()).size, 1, JSON.stringify([...texts]));
    assert.ok(texts.get('none')!.trim().length > 0, 'a non-empty completion');
  });

  test('a newer request supersedes an older one', async () => {
    const first = host.complete({ ...request('none', 1), maxTokens: 200, mode: 'free' });
    const second = host.complete(request('none', 2));
    const [a, b] = await Promise.all([first.result, second.result]);
    assert.equal(a.cancelled, true);
    assert.equal(b.cancelled, false);
  });

  test('cancel(id) stops a request between model calls', async () => {
    const job = host.complete({ ...request('none', 5), maxTokens: 400, mode: 'free' });
    host.cancel(job.id);
    assert.equal((await job.result).cancelled, true);
  });

  test('cancelAll stops what is running; later requests still run', async () => {
    const job = host.complete({ ...request('none', 6), maxTokens: 400, mode: 'free' });
    host.cancelAll();
    assert.equal((await job.result).cancelled, true);
    const next = await host.complete(request('none', 6)).result;
    assert.equal(next.cancelled, false);
  });

  test('a target that cannot load is an error state, not a crash', async () => {
    const bad = new EngineHost(log, (s) => states.push(s.kind));
    bad.configure({ target: os.tmpdir() });
    await assert.rejects(bad.ready());
    assert.equal(states[states.length - 1], 'error');
    await bad.dispose();
  });
});

describe('EngineHost when the engine fails', () => {
  const FAULTY = path.join(__dirname, '..', 'helpers', 'faultyEngine.js');
  const options = { ...plan('lockstep-drafter-b').options, device: 'cpu' as const };

  /** A host over the fault-injecting engine (test/helpers/faultyEngine.ts); LOCKSTEP_TEST_FAULT is read at each fork. */
  function faultyHost(fault: string, over: EngineHostOptions = {}) {
    const notices: string[] = [];
    const seen: EngineState[] = [];
    process.env.LOCKSTEP_TEST_FAULT = fault;
    const h = new EngineHost(log, (s) => seen.push(s), {
      script: FAULTY, restartDelaysMs: [50, 100], onNotice: (m) => notices.push(m), ...over,
    });
    h.configure(options);
    return { h, notices, seen };
  }
  after(() => {
    delete process.env.LOCKSTEP_TEST_FAULT;
  });

  test('a crash rejects the request at once, tells the user once, restarts, and the next request is served', async () => {
    const marker = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-fault-')), 'crashed');
    const { h, notices, seen } = faultyHost(`abort:${marker}`);
    await h.ready();
    const pid = h.enginePid;
    await assert.rejects(h.complete(request('lockstep-drafter-b')).result, /SIGABRT/);
    assert.equal(notices.length, 1);
    assert.match(notices[0], /killed by SIGABRT.*restarts it/);
    await h.ready();
    assert.notEqual(h.enginePid, pid);
    const r = await h.complete(request('lockstep-drafter-b')).result;
    assert.equal(r.cancelled, false);
    assert.ok(r.text.length > 0);
    assert.deepEqual(seen.map((s) => s.kind), ['loading', 'ready', 'loading', 'loading', 'ready']);
    assert.equal(h.restarts, 1, 'the restart is counted (lockstep serve reports it in /metrics)');
    await h.dispose();
  });

  test('an engine that keeps dying is restarted with back-off, then stopped with a clear message', async () => {
    const { h, notices, seen } = faultyHost('exit');
    await h.ready();
    for (let attempt = 0; attempt < 3; attempt++) {
      await assert.rejects(h.complete(request('none')).result, /exited with code 3/);
      if (attempt < 2) await h.ready();
    }
    await assert.rejects(h.ready(), /failed 3 times in a row and was not restarted again .*Restart Engine/);
    assert.equal(h.restarts, 2, 'two restarts, not the third failure that stopped it');
    assert.equal(seen.at(-1)?.kind, 'error');
    assert.match(notices.at(-1) ?? '', /failed 3 times in a row/);
    assert.equal(h.enginePid, undefined);
    // Lockstep: Restart Engine tries again
    h.restart();
    await h.ready();
    assert.ok(h.enginePid !== undefined);
    await h.dispose();
  });

  test('the watchdog kills a hung call; the restarted engine serves the next request', async () => {
    const marker = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-fault-')), 'hung');
    const { h, notices } = faultyHost(`hang@2:${marker}`, { watchdog: { floorMs: 300, factor: 10 } });
    await h.ready();
    assert.equal((await h.complete(request('none')).result).cancelled, false);
    await assert.rejects(h.complete(request('none')).result, /watchdog/);
    assert.match(notices[0], /watchdog/);
    await h.ready();
    assert.equal((await h.complete(request('none')).result).cancelled, false);
    await h.dispose();
  });

  test('a request that throws in the engine: a notice, and (at the limit) a restart that serves the next one', async () => {
    const marker = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-fault-')), 'threw');
    const { h, notices } = faultyHost(`throw:${marker}`, { requestErrorsBeforeRestart: 1 });
    await h.ready();
    const pid = h.enginePid;
    await assert.rejects(h.complete(request('none')).result, /injected failure/);
    assert.match(notices[0], /completion failed in the engine: injected failure/);
    await h.ready();
    assert.notEqual(h.enginePid, pid);
    assert.equal((await h.complete(request('none')).result).cancelled, false);
    await h.dispose();
  });
});
