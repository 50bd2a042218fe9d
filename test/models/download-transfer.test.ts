/**
 * Downloads from the fake Hub (helpers/downloadFixture.ts) into the Hugging Face cache layout: blobs by sha256 with
 * relative links in the snapshot, progress, nothing fetched twice, resume with Range (in the same call and in the
 * next run), a server that ignores Range, a stalled transfer, bounded retries, copy mode, and a snapshot written by
 * another tool reused without requests.
 */
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { entryForDir, resolveModel, resolveModelDir } from '../../src/models/catalog';
import { downloadModel, downloadModelDetailed, isDownloaded } from '../../src/models/download';
import { gitBlobSha1, sha256 } from '../helpers/fakeHub';
import {
  CATALOG, COMMIT, ENTRY, ONNX, SMALL, assertWhole, byPath, hub, incompleteOf, lockFiles, opts, rejectsWith, repoDir, snap,
  tmp, useFakeHub,
} from '../helpers/downloadFixture';

let n = 0;
let cache = '';
useFakeHub(() => cache, () => (cache = path.join(tmp, `cache${++n}`)));

describe('downloadModel', () => {
  test('a full download lands in the Hugging Face cache layout; progress adds up', async () => {
    const progress: [number, number | undefined][] = [];
    const result = await downloadModelDetailed(ENTRY, opts({ onProgress: (b, t) => progress.push([b, t]) }));
    assert.equal(result.dir, snap());
    assert.equal(result.commit, COMMIT);
    assert.equal(result.variant, 'fp32');
    assert.equal(fs.readFileSync(path.join(repoDir(), 'refs', 'main'), 'utf8'), COMMIT);
    assertWhole(result.dir, [...SMALL, 'onnx/model.onnx']);
    // Every blob is named by the sha256 of its contents; nothing half-done remains.
    const blobs = fs.readdirSync(path.join(repoDir(), 'blobs'));
    assert.equal(blobs.length, 5);
    for (const b of blobs) assert.equal(sha256(fs.readFileSync(path.join(repoDir(), 'blobs', b))), b);
    // The optional external-data file does not exist: recorded, not an error.
    assert.ok(fs.existsSync(path.join(repoDir(), '.no_exist', COMMIT, 'onnx', 'model.onnx_data')));
    assert.equal(fs.existsSync(snap('onnx/model.onnx_data')), false);
    assert.deepEqual(lockFiles(), []);
    // The reported sha256 and size of each file.
    const onnx = result.files.find((f) => f.path === 'onnx/model.onnx')!;
    assert.deepEqual(onnx, { path: 'onnx/model.onnx', size: ONNX.content.length, sha256: sha256(ONNX.content), transferred: true });
    // Requests: the first HEAD asked for "main", every later one for the pinned commit; the big file came from the CDN.
    const heads = hub.requests.filter((r) => r.method === 'HEAD' && r.server === 'hub');
    assert.match(heads[0].url, /\/resolve\/main\/config\.json$/);
    for (const h of heads.slice(1)) assert.match(h.url, new RegExp(`/resolve/${COMMIT}/`));
    assert.deepEqual(hub.transfers('onnx/model.onnx').map((r) => r.server), ['cdn']);
    assert.equal(hub.transfers().length, 5);
    // Progress: non-decreasing, ends at the total of the bytes fetched.
    const total = [...SMALL, 'onnx/model.onnx'].reduce((s, p) => s + byPath.get(p)!.content.length, 0);
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i][0] >= progress[i - 1][0]);
    assert.deepEqual(progress.at(-1), [total, total]);
    // The catalog now resolves the id to the snapshot, and knows the directory's entry.
    assert.ok(isDownloaded(ENTRY, 'fp32', cache));
    assert.equal(isDownloaded(ENTRY, 'q4f16', cache), false);
    assert.equal(resolveModelDir('fake-drafter', CATALOG, tmp, { cacheDir: cache }), snap());
    assert.deepEqual(resolveModel('fake-drafter', CATALOG, tmp, { cacheDir: cache }).variant, 'fp32');
    assert.equal(entryForDir(CATALOG, snap(), { cacheDir: cache })?.id, 'fake-drafter');
  });

  test('a complete model is not downloaded again (no request); another variant fetches only its own file', async () => {
    await downloadModel(ENTRY, opts());
    hub.clearRequests();
    assert.equal(await downloadModel(ENTRY, opts()), snap());
    assert.equal(hub.requests.length, 0);
    await downloadModel(ENTRY, opts({ variant: 'q4f16' }));
    assert.deepEqual(hub.transfers().map((r) => r.file), ['onnx/model_q4f16.onnx']);
    assert.ok(isDownloaded(ENTRY, 'q4f16', cache) && isDownloaded(ENTRY, 'fp32', cache));
  });

  test('an interrupted transfer is resumed with Range within the same call', async () => {
    hub.addFault('onnx/model.onnx', { kind: 'cut', after: 1_000_000 }, { times: 1, server: 'cdn' });
    const dir = await downloadModel(ENTRY, opts());
    const t = hub.transfers('onnx/model.onnx');
    assert.equal(t.length, 2);
    assert.equal(t[0].headers.range, undefined);
    const m = /^bytes=(\d+)-$/.exec(String(t[1].headers.range));
    assert.ok(m && Number(m[1]) > 0 && Number(m[1]) <= 1_000_000, `second request's Range: ${t[1].headers.range}`);
    assert.equal(t[1].status, 206);
    assert.equal(sha256(fs.readFileSync(path.join(dir, 'onnx', 'model.onnx'))), sha256(ONNX.content));
  });

  test('an interrupted download keeps its .incomplete, and the next run resumes it', async () => {
    hub.addFault('onnx/model.onnx', { kind: 'cut', after: 1_000_000 }, { times: 1, server: 'cdn' });
    await rejectsWith(downloadModel(ENTRY, opts({ retries: 0 })), 'network', /onnx\/model\.onnx/);
    const partial = fs.statSync(incompleteOf(ONNX)).size;
    assert.ok(partial > 0 && partial <= 1_000_000, `partial ${partial}`);
    assert.equal(fs.existsSync(snap('onnx/model.onnx')), false, 'nothing at the final path');
    assert.equal(fs.existsSync(path.join(repoDir(), 'blobs', sha256(ONNX.content))), false);
    assert.equal(isDownloaded(ENTRY, undefined, cache), false);
    assert.throws(() => resolveModelDir('fake-drafter', CATALOG, tmp, { cacheDir: cache }), /model 'fake-drafter' is not downloaded — run `lockstep download fake-drafter`/);
    hub.clearRequests();
    const dir = await downloadModel(ENTRY, opts());
    const t = hub.transfers('onnx/model.onnx');
    assert.equal(t.length, 1);
    assert.equal(t[0].headers.range, `bytes=${partial}-`);
    assert.equal(hub.transfers().length, 1, 'the small files were not fetched again');
    assert.ok(fs.readFileSync(path.join(dir, 'onnx', 'model.onnx')).equals(ONNX.content));
    assert.equal(fs.existsSync(incompleteOf(ONNX)), false);
  });

  test('a server that ignores Range (200) makes the download start again from 0', async () => {
    hub.addFault('onnx/model.onnx', { kind: 'cut', after: 700_000 }, { times: 1, server: 'cdn' });
    await rejectsWith(downloadModel(ENTRY, opts({ retries: 0 })), 'network');
    assert.ok(fs.statSync(incompleteOf(ONNX)).size > 0);
    hub.addFault('onnx/model.onnx', { kind: 'ignore-range' }, { server: 'cdn' });
    hub.clearRequests();
    const dir = await downloadModel(ENTRY, opts());
    const t = hub.transfers('onnx/model.onnx');
    assert.equal(t.length, 1);
    assert.match(String(t[0].headers.range), /^bytes=\d+-$/);
    assert.equal(t[0].status, 200);
    assert.ok(fs.readFileSync(path.join(dir, 'onnx', 'model.onnx')).equals(ONNX.content));
  });

  test('a stalled transfer is dropped after stallTimeoutMs and resumed', async () => {
    hub.addFault('onnx/model.onnx', { kind: 'hang', after: 300_000 }, { times: 1, server: 'cdn' });
    const dir = await downloadModel(ENTRY, opts({ stallTimeoutMs: 300 }));
    assert.deepEqual(hub.transfers('onnx/model.onnx').map((r) => r.headers.range), [undefined, 'bytes=300000-']);
    assert.ok(fs.readFileSync(path.join(dir, 'onnx', 'model.onnx')).equals(ONNX.content));
  });

  test('transient errors are retried with backoff, a bounded number of times', async () => {
    hub.addFault('onnx/model.onnx', { kind: 'status', status: 503 }, { times: 2, server: 'cdn' });
    await downloadModel(ENTRY, opts());
    assert.equal(hub.requests.filter((r) => r.server === 'cdn').length, 3);
    cache = path.join(tmp, `cache${++n}`);
    hub.clearRequests();
    hub.addFault('onnx/model.onnx', { kind: 'status', status: 500 }, { server: 'cdn' });
    await rejectsWith(downloadModel(ENTRY, opts({ retries: 2 })), 'http', /HTTP 500 .*gave up after 3 attempts/);
    assert.equal(hub.requests.filter((r) => r.server === 'cdn').length, 3);
    assert.equal(fs.existsSync(snap('onnx/model.onnx')), false);
  });

  test('copy mode (no symlinks) gives regular files in the snapshot', async () => {
    const dir = await downloadModel(ENTRY, opts({ linkMode: 'copy' }));
    const f = path.join(dir, 'onnx', 'model.onnx');
    assert.equal(fs.lstatSync(f).isSymbolicLink(), false);
    assert.ok(fs.readFileSync(f).equals(ONNX.content));
    assert.ok(isDownloaded(ENTRY, 'fp32', cache));
  });

  test('a snapshot written by another tool (git-sha1 blob names for small files) is reused without requests', async () => {
    const blobs = path.join(repoDir(), 'blobs');
    fs.mkdirSync(blobs, { recursive: true });
    for (const p of [...SMALL, 'onnx/model.onnx']) {
      const f = byPath.get(p)!;
      const name = p.endsWith('.onnx') ? sha256(f.content) : gitBlobSha1(f.content);
      fs.writeFileSync(path.join(blobs, name), f.content);
      const link = snap(p);
      fs.mkdirSync(path.dirname(link), { recursive: true });
      fs.symlinkSync(path.relative(path.dirname(link), path.join(blobs, name)), link);
    }
    fs.mkdirSync(path.join(repoDir(), '.no_exist', COMMIT, 'onnx'), { recursive: true });
    fs.writeFileSync(path.join(repoDir(), '.no_exist', COMMIT, 'onnx', 'model.onnx_data'), '');
    fs.mkdirSync(path.join(repoDir(), 'refs'));
    fs.writeFileSync(path.join(repoDir(), 'refs', 'main'), COMMIT);
    assert.ok(isDownloaded(ENTRY, undefined, cache));
    assert.equal(await downloadModel(ENTRY, opts()), snap());
    assert.equal(hub.requests.length, 0);
    // The cache location comes from HF_HUB_CACHE / HF_HOME when no cacheDir is given.
    assert.equal(await downloadModel(ENTRY, { env: { HF_HUB_CACHE: cache, HF_HUB_OFFLINE: '1' } }), snap());
    assert.equal(resolveModelDir('fake-drafter', CATALOG, tmp, { env: { HF_HUB_CACHE: cache } }), snap());
  });
});
