/**
 * Downloads that meet: two in one process or in two processes transfer each file once (the lock), stale locks (a dead
 * process, or one not refreshed) are taken over, and cancellation keeps the .incomplete, releases the lock, leaves
 * another process's lock alone, and lets the next run resume.
 */
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { downloadModel, isDownloaded } from '../../src/models/download';
import { sha256 } from '../helpers/fakeHub';
import {
  ENTRY, FOLDER, ONNX, hub, incompleteOf, lockFiles, opts, rejectsWith, snap, tmp, useFakeHub, waitFor,
} from '../helpers/downloadFixture';

let n = 0;
let cache = '';
useFakeHub(() => cache, () => (cache = path.join(tmp, `cache${++n}`)));

describe('downloadModel', () => {
  test('two concurrent downloads of the same model transfer each file once (lock)', async () => {
    hub.addFault('onnx/model.onnx', { kind: 'slow', chunk: 256 * 1024, delayMs: 15 }, { server: 'cdn' });
    const waits: string[] = [];
    const onProgress = (_b: number, _t: number | undefined, d: { stage: string; message?: string }) => void (d.stage === 'waiting' && waits.push(d.message!));
    const [a, b] = await Promise.all([downloadModel(ENTRY, opts({ onProgress })), downloadModel(ENTRY, opts({ onProgress }))]);
    assert.equal(a, b);
    assert.equal(hub.transfers('onnx/model.onnx').length, 1);
    assert.ok(waits.some((w) => /waiting for process \d+, which is downloading/.test(w)), waits.join('; '));
    assert.deepEqual(lockFiles(), []);
  });

  test('another process downloading the same file: one transfer between the two processes', async () => {
    hub.addFault('onnx/model.onnx', { kind: 'slow', chunk: 128 * 1024, delayMs: 20 }, { server: 'cdn' });
    const script = `
      const { downloadModel } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'src', 'models', 'download.js'))});
      downloadModel(JSON.parse(process.argv[1]), JSON.parse(process.argv[2]))
        .then((d) => process.stdout.write(d), (e) => { process.stderr.write(e.message); process.exit(1); });`;
    const childOpts = { endpoint: hub.endpoint, cacheDir: cache, env: {}, lockPollMs: 20, retryBaseMs: 5 };
    const child = spawn(process.execPath, ['-e', script, JSON.stringify(ENTRY), JSON.stringify(childOpts)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    // Start ours once the child holds the model's lock.
    await waitFor(() => lockFiles().length > 0 || (child.exitCode !== null), 'the child to take the lock');
    const mine = await downloadModel(ENTRY, opts());
    assert.equal(await exited, 0, err);
    assert.equal(out, mine);
    assert.equal(hub.transfers('onnx/model.onnx').length, 1);
  });

  test('stale locks are taken over: a dead process, or one not refreshed for lockStaleMs', async () => {
    const lockDir = path.join(cache, '.locks', FOLDER);
    fs.mkdirSync(lockDir, { recursive: true });
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const lock = (name: string, pid: number) =>
      fs.writeFileSync(path.join(lockDir, `${name}.lockstep.lock`), JSON.stringify({ pid, host: os.hostname(), since: 0, token: 't' }));
    lock(sha256(ONNX.content), dead);
    const t0 = Date.now();
    await downloadModel(ENTRY, opts({ lockStaleMs: 600_000 }));
    assert.ok(Date.now() - t0 < 5000);
    // A live holder (this very process) whose lock has not been refreshed for longer than lockStaleMs.
    cache = path.join(tmp, `cache${++n}`);
    fs.mkdirSync(path.join(cache, '.locks', FOLDER), { recursive: true });
    const file = path.join(cache, '.locks', FOLDER, `${sha256(ONNX.content)}.lockstep.lock`);
    fs.writeFileSync(file, JSON.stringify({ pid: process.pid, host: os.hostname(), since: 0, token: 't' }));
    const old = new Date(Date.now() - 3_600_000);
    fs.utimesSync(file, old, old);
    await downloadModel(ENTRY, opts({ lockStaleMs: 1000 }));
    assert.ok(isDownloaded(ENTRY, 'fp32', cache));
  });

  test('cancellation (AbortSignal) keeps the .incomplete and releases the lock; the next run resumes', async () => {
    hub.addFault('onnx/model.onnx', { kind: 'hang', after: 500_000 }, { times: 1, server: 'cdn' });
    const ac = new AbortController();
    const p = downloadModel(ENTRY, opts({ signal: ac.signal }));
    await waitFor(() => fs.existsSync(incompleteOf(ONNX)) && fs.statSync(incompleteOf(ONNX)).size >= 500_000, '500 kB on disk');
    ac.abort();
    await rejectsWith(p, 'cancelled', /kept in .*\.incomplete for a later resume/);
    assert.equal(fs.statSync(incompleteOf(ONNX)).size, 500_000);
    assert.equal(fs.existsSync(snap('onnx/model.onnx')), false);
    assert.deepEqual(lockFiles(), []);
    hub.clearRequests();
    await downloadModel(ENTRY, opts());
    assert.deepEqual(hub.transfers('onnx/model.onnx').map((r) => r.headers.range), ['bytes=500000-']);
    // Cancelling while waiting for another download's lock.
    cache = path.join(tmp, `cache${++n}`);
    const lockDir = path.join(cache, '.locks', FOLDER);
    fs.mkdirSync(lockDir, { recursive: true });
    const held = path.join(lockDir, `${sha256(ONNX.content)}.lockstep.lock`);
    fs.writeFileSync(held, JSON.stringify({ pid: process.pid, host: os.hostname(), since: Date.now(), token: 'other' }));
    const ac2 = new AbortController();
    const p2 = downloadModel(ENTRY, opts({ signal: ac2.signal, onProgress: (_b, _t, d) => void (d.stage === 'waiting' && ac2.abort()) }));
    await rejectsWith(p2, 'cancelled');
    assert.ok(fs.existsSync(held), "another process's lock is left alone");
    // Already aborted: nothing happens.
    hub.clearRequests();
    await rejectsWith(downloadModel(ENTRY, opts({ cacheDir: path.join(tmp, 'never'), signal: AbortSignal.abort() })), 'cancelled');
    assert.equal(hub.requests.length, 0);
  });
});
