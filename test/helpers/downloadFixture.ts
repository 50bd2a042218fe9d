/**
 * The download tests' world: a fake Hub on 127.0.0.1 (helpers/fakeHub.ts) serving the shipped lockstep-drafter-a
 * files (and a small generated "q4f16" file) as the repository lockstep-test/fake-drafter (also under its old name
 * lockstep-test/old-name, and as a gated copy lockstep-test/gated needing the token hf_secret), the catalog entry
 * that downloads it, and what the tests check of the Hugging Face cache it lands in.
 */
import { after, before, beforeEach } from 'node:test';
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { validateCatalog, Catalog } from '../../src/models/catalog';
import type { DownloadOptions } from '../../src/models/download';
import { DownloadError } from '../../src/models/downloadErrors';
import { FakeHub, FakeFile, sha256 } from './fakeHub';
import { DRAFTER_A_DIR } from './models';

/** The fake drafter's repository, its commit, and its folder in the cache. */
export const REPO = 'lockstep-test/fake-drafter';
export const COMMIT = crypto.createHash('sha1').update('fake commit').digest('hex');
export const FOLDER = 'models--lockstep-test--fake-drafter';
/** The small (non-LFS) files, served by the Hub itself. */
export const SMALL = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json'];
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
/** The repository's files: SMALL, the drafter's onnx/model.onnx (LFS) and a generated onnx/model_q4f16.onnx. */
export const FILES: FakeFile[] = [
  ...SMALL.map((p) => ({ path: p, content: read(p) })),
  { path: 'onnx/model.onnx', content: read('onnx/model.onnx') },
  { path: 'onnx/model_q4f16.onnx', content: generated(300_000) },
];
/** onnx/model.onnx, the big file (served through the CDN). */
export const ONNX = FILES[4];
export const byPath = new Map(FILES.map((f) => [f.path, f]));

/** A catalog of the fake-drafter entry (variants fp32, the default, and q4f16) and `extra` entries. */
export function catalogWith(extra: Record<string, unknown>[] = []): Catalog {
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
/** catalogWith() and its fake-drafter entry. */
export const CATALOG = catalogWith();
export const ENTRY = CATALOG.models[0];

/** The fake Hub, started by useFakeHub() for the test file. */
export let hub: FakeHub;
/** A temporary folder for the test file, removed after its tests. */
export let tmp: string;
let currentCache: () => string = () => {
  throw new Error('useFakeHub() was not called');
};

/**
 * Starts the fake Hub and the temporary folder before the test file's tests, closes and removes them after, and
 * before each test clears the Hub's faults and request log and calls `freshCache`. The cache folder is the test
 * file's own variable (some tests move on to a new one): `cache` answers where it is now, and opts(), repoDir() and
 * the rest look there.
 */
export function useFakeHub(cache: () => string, freshCache: () => void): void {
  currentCache = cache;
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
    freshCache();
  });
}

/** Options for the fake Hub: no HF_* from the environment, fast retries. */
export function opts(extra: DownloadOptions = {}): DownloadOptions {
  return { endpoint: hub.endpoint, cacheDir: currentCache(), env: {}, retryBaseMs: 5, retryMaxMs: 20, lockPollMs: 20, stallTimeoutMs: 10_000, ...extra };
}

/** Awaits `p`, which must fail with a one-line DownloadError of `code` (matching `re`); returns the error. */
export async function rejectsWith(p: Promise<unknown>, code: string, re?: RegExp): Promise<DownloadError> {
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

/** The repository's folder in the cache, a path in its snapshot, and a file's .incomplete blob. */
export const repoDir = () => path.join(currentCache(), FOLDER);
export const snap = (p = '') => path.join(repoDir(), 'snapshots', COMMIT, ...p.split('/').filter(Boolean));
export const incompleteOf = (f: FakeFile) => path.join(repoDir(), 'blobs', `${sha256(f.content)}.incomplete`);

/** Each of `paths` in `dir` is a relative symbolic link to the blob named by its sha256, with the right bytes. */
export function assertWhole(dir: string, paths: string[]): void {
  for (const p of paths) {
    const file = path.join(dir, ...p.split('/'));
    assert.ok(fs.lstatSync(file).isSymbolicLink(), `${p} is a symlink`);
    const target = fs.readlinkSync(file);
    assert.ok(!path.isAbsolute(target), `${p} → ${target} is relative`);
    assert.equal(path.resolve(path.dirname(file), target), path.join(repoDir(), 'blobs', sha256(byPath.get(p)!.content)));
    assert.ok(fs.readFileSync(file).equals(byPath.get(p)!.content), `${p} content`);
  }
}

/** The lock files held now for the repository. */
export function lockFiles(): string[] {
  const d = path.join(currentCache(), '.locks', FOLDER);
  return fs.existsSync(d) ? fs.readdirSync(d) : [];
}

/** Polls `cond` every 10 ms; fails after `ms`. */
export async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
