/**
 * Downloads against a fake Hub on 127.0.0.1 (test/helpers/fakeHub.ts) serving the shipped lockstep-drafter-a files
 * (and a small generated "q4f16" file): the Hugging Face cache layout, resume with Range, refusal of wrong bytes and
 * HTML, redirects, the token, HF_HUB_OFFLINE, locks, cancellation, and loading the result with the engine.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CausalLM } from '../src/engine/model';
import { main } from '../src/cli/main';
import { loadCatalog, resolveModel, resolveModelDir, validateCatalog, Catalog, entryForDir } from '../src/models/catalog';
import { DownloadOptions, downloadModel, downloadModelDetailed, isDownloaded } from '../src/models/download';
import { DownloadError } from '../src/models/downloadErrors';
import { FakeHub, FakeFile, gitBlobSha1, sha256 } from './helpers/fakeHub';
import { writeCatalogDir } from './helpers/catalogDir';
import { DRAFTER_A_DIR, rowsEqualBitwise } from './helpers/models';

const REPO = 'lockstep-test/fake-drafter';
const COMMIT = crypto.createHash('sha1').update('fake commit').digest('hex');
const FOLDER = 'models--lockstep-test--fake-drafter';
const SMALL = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json'];
/** Deterministic pseudo-random bytes. */
function generated(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0, x = 1; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}
const read = (p: string) => fs.readFileSync(path.join(DRAFTER_A_DIR, ...p.split('/')));
const FILES: FakeFile[] = [
  ...SMALL.map((p) => ({ path: p, content: read(p) })),
  { path: 'onnx/model.onnx', content: read('onnx/model.onnx') },
  { path: 'onnx/model_q4f16.onnx', content: generated(300_000) },
];
const ONNX = FILES[4];
const byPath = new Map(FILES.map((f) => [f.path, f]));

function catalogWith(extra: Record<string, unknown>[] = []): Catalog {
  return validateCatalog({
    version: 1,
    models: [
      {
        id: 'fake-drafter', role: 'drafter', family: 'lockstep-bpe4096', repo: REPO, commit: 'main', verify: 'on-first-download',
        files: ['config.json', { path: 'generation_config.json', optional: true }, 'tokenizer.json', { path: 'tokenizer_config.json', size: null, sha256: null }],
        variants: {
          fp32: { files: ['onnx/model.onnx', { path: 'onnx/model.onnx_data', optional: true }] },
          q4f16: { files: ['onnx/model_q4f16.onnx'] },
        },
        defaultVariant: 'fp32',
      },
      ...extra,
    ],
  });
}
const CATALOG = catalogWith();
const ENTRY = CATALOG.models[0];

let hub: FakeHub;
let tmp: string;
let cache: string;
let n = 0;

before(async () => {
  hub = await FakeHub.start([
    { id: REPO, commit: COMMIT, files: FILES, renamedFrom: 'lockstep-test/old-name' },
    { id: 'lockstep-test/gated', commit: COMMIT, files: FILES.slice(0, 5), token: 'hf_secret' },
  ]);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-dl-'));
});
after(async () => {
  await hub.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => {
  hub.clearFaults();
  hub.clearRequests();
  cache = path.join(tmp, `cache${++n}`);
});

/** Options for the fake Hub: no HF_* from the environment, fast retries. */
function opts(extra: DownloadOptions = {}): DownloadOptions {
  return { endpoint: hub.endpoint, cacheDir: cache, env: {}, retryBaseMs: 5, retryMaxMs: 20, lockPollMs: 20, stallTimeoutMs: 10_000, ...extra };
}

async function rejectsWith(p: Promise<unknown>, code: string, re?: RegExp): Promise<DownloadError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof DownloadError, `expected a DownloadError, got ${(e as Error).stack}`);
    assert.equal(e.code, code, e.message);
    if (re) assert.match(e.message, re);
    assert.doesNotMatch(e.message, /\n/, 'one line');
    return e;
  }
  assert.fail(`expected a ${code} error`);
}

const repoDir = () => path.join(cache, FOLDER);
const snap = (p = '') => path.join(repoDir(), 'snapshots', COMMIT, ...p.split('/').filter(Boolean));
const incompleteOf = (f: FakeFile) => path.join(repoDir(), 'blobs', `${sha256(f.content)}.incomplete`);

function assertWhole(dir: string, paths: string[]): void {
  for (const p of paths) {
    const file = path.join(dir, ...p.split('/'));
    assert.ok(fs.lstatSync(file).isSymbolicLink(), `${p} is a symlink`);
    const target = fs.readlinkSync(file);
    assert.ok(!path.isAbsolute(target), `${p} → ${target} is relative`);
    assert.equal(path.resolve(path.dirname(file), target), path.join(repoDir(), 'blobs', sha256(byPath.get(p)!.content)));
    assert.ok(fs.readFileSync(file).equals(byPath.get(p)!.content), `${p} content`);
  }
}

function lockFiles(): string[] {
  const d = path.join(cache, '.locks', FOLDER);
  return fs.existsSync(d) ? fs.readdirSync(d) : [];
}

async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

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

  test('wrong bytes are refused: sha256 mismatch, no final file, no partial kept', async () => {
    hub.addFault('onnx/model.onnx', { kind: 'wrong-bytes' }, { server: 'cdn' });
    await rejectsWith(downloadModel(ENTRY, opts()), 'hash-mismatch', new RegExp(`sha256 mismatch — got [0-9a-f]{64}, expected ${sha256(ONNX.content)}`));
    assert.equal(fs.existsSync(snap('onnx/model.onnx')), false);
    assert.equal(fs.existsSync(path.join(repoDir(), 'blobs', sha256(ONNX.content))), false);
    assert.equal(fs.existsSync(incompleteOf(ONNX)), false);
    assert.deepEqual(lockFiles(), []);
  });

  test('a small file is checked against the sha256 the catalog pins', async () => {
    const tok = byPath.get('tokenizer.json')!;
    const cat = catalogWith([{
      id: 'pinned', role: 'drafter', family: 'f', repo: REPO, commit: COMMIT,
      files: [{ path: 'tokenizer.json', size: tok.content.length, sha256: sha256(tok.content) }],
    }]);
    hub.addFault('tokenizer.json', { kind: 'wrong-bytes' }, { server: 'hub' });
    await rejectsWith(downloadModel(cat.models[1], opts()), 'hash-mismatch', /tokenizer\.json: sha256 mismatch/);
    assert.equal(fs.existsSync(snap('tokenizer.json')), false);
    hub.clearFaults();
    const dir = await downloadModel(cat.models[1], opts());
    assert.ok(fs.readFileSync(path.join(dir, 'tokenizer.json')).equals(tok.content));
    assert.equal(fs.existsSync(path.join(repoDir(), 'refs')), false, 'a pinned commit writes no ref');
  });

  test('a catalog pin that disagrees with the Hub is refused before any transfer', async () => {
    const cat = catalogWith([{
      id: 'stale-pin', role: 'drafter', family: 'f', repo: REPO, commit: 'main',
      files: ['config.json', { path: 'onnx/model.onnx', sha256: '0'.repeat(64) }],
    }]);
    await rejectsWith(downloadModel(cat.models[1], opts()), 'catalog-mismatch', /onnx\/model\.onnx: the Hub reports sha256 [0-9a-f]{64}, the catalog pins 0{64}/);
    assert.equal(hub.transfers().length, 0);
  });

  test('an HTML page is refused with a clear message, by Content-Type or by its first bytes', async () => {
    hub.addFault('config.json', { kind: 'html' }, { server: 'hub' });
    await rejectsWith(downloadModel(ENTRY, opts()), 'html', /config\.json: 127\.0\.0\.1:\d+ sent an HTML page instead of the file \("502 Bad Gateway"\) — refused/);
    assert.equal(fs.existsSync(snap('config.json')), false);
    hub.clearFaults();
    hub.addFault('onnx/model.onnx', { kind: 'html-binary' }, { server: 'cdn' });
    await rejectsWith(downloadModel(ENTRY, opts()), 'html', /onnx\/model\.onnx: .*HTML page/);
    assert.equal(fs.existsSync(snap('onnx/model.onnx')), false);
    assert.equal(fs.existsSync(path.join(repoDir(), 'blobs', sha256(ONNX.content))), false);
    assert.ok(isDownloaded(ENTRY, 'fp32', cache) === false);
  });

  test('redirects are followed: relative (renamed repository) and absolute to the CDN on another port', async () => {
    const cat = catalogWith([{ ...ENTRY, id: 'old-name', name: undefined, repo: 'lockstep-test/old-name' } as Record<string, unknown>]);
    const dir = await downloadModel(cat.models[1], opts());
    assert.ok(fs.readFileSync(path.join(dir, 'onnx', 'model.onnx')).equals(ONNX.content));
    const oldName = hub.requests.filter((r) => r.url.includes('/lockstep-test/old-name/'));
    assert.ok(oldName.length > 0 && oldName.every((r) => r.status === 307));
    const cdn = hub.requests.filter((r) => r.server === 'cdn');
    assert.ok(cdn.length > 0);
    assert.notEqual(new URL(hub.cdnOrigin).port, new URL(hub.endpoint).port);
  });

  test('HF_TOKEN is sent to the Hub as a Bearer token, never to the CDN; 401 without it', async () => {
    const cat = catalogWith([{ id: 'gated', role: 'drafter', family: 'f', repo: 'lockstep-test/gated', commit: 'main', files: ['config.json', 'onnx/model.onnx'] }]);
    await rejectsWith(downloadModel(cat.models[1], opts()), 'unauthorized', /authentication required \(HTTP 401\).*set HF_TOKEN/);
    await rejectsWith(downloadModel(cat.models[1], opts({ env: { HF_TOKEN: 'hf_wrong' } })), 'unauthorized', /refused the token/);
    hub.clearRequests();
    const dir = await downloadModel(cat.models[1], opts({ env: { HF_TOKEN: 'hf_secret' } }));
    assert.ok(fs.existsSync(path.join(dir, 'onnx', 'model.onnx')));
    const hubReqs = hub.requests.filter((r) => r.server === 'hub');
    const cdnReqs = hub.requests.filter((r) => r.server === 'cdn');
    assert.ok(hubReqs.length > 0 && hubReqs.every((r) => r.headers.authorization === 'Bearer hf_secret'));
    assert.ok(cdnReqs.length > 0 && cdnReqs.every((r) => r.headers.authorization === undefined));
  });

  test('404s are final (no retries) and say what is missing', async () => {
    const cat = catalogWith([
      { id: 'missing-file', role: 'drafter', family: 'f', repo: REPO, commit: 'main', files: ['config.json', 'onnx/nope.onnx'] },
      { id: 'missing-repo', role: 'drafter', family: 'f', repo: 'lockstep-test/nothing', commit: 'main', files: ['config.json'] },
      { id: 'missing-rev', role: 'drafter', family: 'f', repo: REPO, commit: 'v9', files: ['config.json'] },
    ]);
    await rejectsWith(downloadModel(cat.models[1], opts()), 'not-found', /onnx\/nope\.onnx not found in lockstep-test\/fake-drafter at [0-9a-f]{40} \(HTTP 404\)/);
    assert.equal(hub.requests.filter((r) => r.url.endsWith('/nope.onnx')).length, 1);
    await rejectsWith(downloadModel(cat.models[2], opts({ token: 'x' })), 'not-found', /repository lockstep-test\/nothing not found/);
    await rejectsWith(downloadModel(cat.models[3], opts()), 'not-found', /revision v9 not found/);
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

  test('HF_HUB_OFFLINE: no network; the cache or a clear failure', async () => {
    await rejectsWith(downloadModel(ENTRY, opts({ env: { HF_HUB_OFFLINE: '1' } })), 'offline', /not complete in .* HF_HUB_OFFLINE is set/);
    assert.equal(hub.requests.length, 0);
    await downloadModel(ENTRY, opts());
    hub.clearRequests();
    assert.equal(await downloadModel(ENTRY, opts({ env: { HF_HUB_OFFLINE: 'true' } })), snap());
    await rejectsWith(downloadModel(ENTRY, opts({ env: { HF_HUB_OFFLINE: 'YES' }, variant: 'q4f16' })), 'offline', /missing: onnx\/model_q4f16\.onnx/);
    assert.equal(hub.requests.length, 0);
  });

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
      const { downloadModel } = require(${JSON.stringify(path.join(__dirname, '..', 'src', 'models', 'download.js'))});
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

  test('the downloaded directory loads with the engine and gives the bundled model\'s logits bit for bit', async () => {
    const dir = await downloadModel(ENTRY, opts());
    const got = await CausalLM.load(dir, { threads: 1 });
    const ref = await CausalLM.load(DRAFTER_A_DIR, { threads: 1 });
    try {
      assert.equal(got.config.numLayers, ref.config.numLayers);
      const ids = [5, 17, 300, 42];
      const a = await got.forward(ids);
      const b = await ref.forward(ids);
      for (let i = 0; i < ids.length; i++) assert.ok(rowsEqualBitwise(a.row(i), b.row(i)), `row ${i}`);
    } finally {
      await got.dispose();
      await ref.dispose();
    }
  });

  test('bad requests: a bundled entry, an unknown variant, a bad endpoint', async () => {
    const shipped = loadCatalog().models.find((m) => m.bundled !== undefined)!;
    await rejectsWith(downloadModel(shipped, opts()), 'invalid', /ships with Lockstep/);
    await rejectsWith(downloadModel(ENTRY, opts({ variant: 'int3' })), 'invalid', /no variant "int3" \(variants: fp32, q4f16\)/);
    await rejectsWith(downloadModel(ENTRY, opts({ endpoint: 'ftp://example' })), 'invalid', /must be an http/);
    assert.equal(hub.requests.length, 0);
  });
});

describe('lockstep download', () => {
  async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const saved = process.env.HF_HUB_OFFLINE;
    delete process.env.HF_HUB_OFFLINE;
    try {
      const code = await main(argv, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), cwd: tmp });
      return { code, stdout, stderr };
    } finally {
      if (saved !== undefined) process.env.HF_HUB_OFFLINE = saved;
    }
  }
  // "small" ships with this catalog: a folder in the models/ folder next to it (bundled paths must stay there).
  const catalogFile = () => {
    const raw = { version: 1, models: [{ ...ENTRY }, { id: 'small', role: 'drafter', family: 'lockstep-bpe4096', bundled: 'models/small' }] };
    return writeCatalogDir(path.join(tmp, 'cli-catalog'), raw, { small: DRAFTER_A_DIR });
  };

  test('prints progress on stderr and the directory on stdout; --list shows it; errors are one line', async () => {
    const file = catalogFile();
    const common = ['--catalog', file, '--endpoint', hub.endpoint, '--models-dir', cache];
    const r = await cli('download', 'fake-drafter', ...common);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${snap()}\n`);
    assert.match(r.stderr, /fake-drafter \(fp32\): lockstep-test\/fake-drafter@main → /);
    assert.match(r.stderr, /\[5\/5\] onnx\/model\.onnx \(2\.\d MB\)/);
    assert.match(r.stderr, /done: 5 files, .* sha256 checked \(commit [0-9a-f]{40}\)/);
    const again = await cli('download', 'fake-drafter', ...common);
    assert.match(again.stderr, /already downloaded/);
    const list = await cli('download', '--list', ...common);
    assert.match(list.stdout, /fake-drafter .*\n +fp32 \(default\) +downloaded: /);
    assert.match(list.stdout, /q4f16 +not downloaded/);
    assert.match(list.stdout, /small .*ships with Lockstep/);
    const json = await cli('download', 'fake-drafter', '--json', ...common);
    const parsed = JSON.parse(json.stdout);
    assert.equal(parsed.commit, COMMIT);
    assert.equal(parsed.files.find((f: { path: string }) => f.path === 'onnx/model.onnx').sha256, sha256(ONNX.content));
    const bundled = await cli('download', 'small', ...common);
    assert.equal(bundled.stdout, `${path.join(tmp, 'cli-catalog', 'models', 'small')}\n`);
    const fails: [string[], number, RegExp][] = [
      [['download', 'nope', ...common], 2, /^lockstep: unknown model 'nope' \(downloadable: fake-drafter\)$/],
      [['download', ...common], 2, /name the model\(s\) to download: fake-drafter/],
      [['download', 'fake-drafter', '--variant', 'int3', ...common], 1, /no variant "int3" \(variants: fp32, q4f16\)/],
      [['download', 'fake-drafter', '--variant', 'q4f16', ...common], 1, /^lockstep: cannot download lockstep-test\/fake-drafter\/onnx\/model_q4f16\.onnx: .*HTML page.* refused/],
    ];
    hub.addFault('onnx/model_q4f16.onnx', { kind: 'html' }, { server: 'cdn' });
    for (const [argv, code, re] of fails) {
      const f = await cli(...argv);
      assert.equal(f.code, code, f.stderr);
      const lines = f.stderr.split('\n').filter((l) => l !== '' && l.startsWith('lockstep:'));
      assert.equal(lines.length, 1, f.stderr);
      assert.match(lines[0], re);
      assert.equal(f.stdout, '');
    }
    const help = await cli('help', 'download');
    assert.match(help.stdout, /Usage: lockstep download <id>\.\.\. \[options\][\s\S]*--models-dir DIR/);
  });
});
