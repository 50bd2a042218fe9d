/**
 * The shipped catalog's Qwen2.5-Coder 0.5B entry against a fake Hub that serves the ci stand-in's files under the
 * real repository name, with the Hub's headers (LFS redirects, X-Linked-Etag, X-Repo-Commit): `lockstep download`
 * fetches each variant's files into an empty cache through the real downloader (fp32's model.onnx and
 * model.onnx_data together; q4 with its absent side file recorded as such), and `lockstep complete` then runs the
 * catalog id from that cache.
 */
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../src/cli/main';
import { FakeHub } from '../helpers/fakeHub';
import { ciStandin } from '../helpers/standin';
import { PREFIX, SUFFIX } from '../helpers/cli';

const REPO = 'onnx-community/Qwen2.5-Coder-0.5B-Instruct';
const COMMIT = crypto.createHash('sha1').update('stand-in commit').digest('hex');
let hub: FakeHub;
let tmp: string;

before(async () => {
  const target = ciStandin().target;
  const files = (dir: string): string[] => fs.readdirSync(path.join(target, dir)).map((f) => (dir ? `${dir}/${f}` : f))
    .filter((f) => fs.statSync(path.join(target, f)).isFile());
  hub = await FakeHub.start([{
    id: REPO, commit: COMMIT, files: [...files(''), ...files('onnx')].map((p) => ({ path: p, content: fs.readFileSync(path.join(target, p)) })),
  }]);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-dl-standin-'));
});
after(async () => {
  await hub.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function cli(env: Record<string, string>, ...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const saved = { ...process.env };
  delete process.env.HF_HUB_OFFLINE;
  Object.assign(process.env, env);
  try {
    const code = await main(argv, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), cwd: tmp });
    return { code, stdout, stderr };
  } finally {
    for (const k of Object.keys(env)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

test('the Qwen 0.5B entry downloads from a Hub serving the stand-in and completes from the cache', async () => {
  const cache = path.join(tmp, 'cache');
  const id = 'qwen2.5-coder-0.5b-instruct';
  const fp32 = await cli({}, 'download', id, '--variant', 'fp32', '--endpoint', hub.endpoint, '--models-dir', cache);
  assert.equal(fp32.code, 0, fp32.stderr);
  const snap = fp32.stdout.trim();
  assert.equal(snap, path.join(cache, 'models--onnx-community--Qwen2.5-Coder-0.5B-Instruct', 'snapshots', COMMIT));
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx', 'onnx/model.onnx_data']) {
    assert.ok(fs.readFileSync(path.join(snap, f)).equals(fs.readFileSync(path.join(ciStandin().target, f))), f);
  }
  // Both halves of the fp32 pair came through the CDN redirect, checked against the sha256 the Hub announced.
  assert.deepEqual(hub.transfers().map((r) => r.file).filter((f) => f?.startsWith('onnx/')).sort(), ['onnx/model.onnx', 'onnx/model.onnx_data']);
  assert.deepEqual(hub.transfers('onnx/model.onnx_data').map((r) => r.server), ['cdn']);

  const complete = async (drafter: string) => {
    const r = await cli({ LOCKSTEP_MODELS_DIR: cache }, 'complete', '--target', id, '--drafter', drafter, '--prefix', PREFIX,
      '--suffix', SUFFIX, '--max-tokens', '8', '--mode', 'free', '--threads', '1', '--json');
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { text: string; tokens: number; targetDir: string };
  };
  const first = await complete('none');
  assert.equal(first.targetDir, snap);
  assert.ok(first.tokens > 0 && first.text.length > 0, 'no text');

  const q4 = await cli({}, 'download', id, '--variant', 'q4', '--endpoint', hub.endpoint, '--models-dir', cache);
  assert.equal(q4.code, 0, q4.stderr);
  assert.ok(fs.existsSync(path.join(snap, 'onnx', 'model_q4.onnx')));
  // The optional side file the q4 export does not have is remembered as absent, so the variant counts as whole.
  assert.ok(fs.existsSync(path.join(cache, 'models--onnx-community--Qwen2.5-Coder-0.5B-Instruct', '.no_exist', COMMIT, 'onnx', 'model_q4.onnx_data')));
  const list = await cli({}, 'download', '--list', '--models-dir', cache);
  const section = list.stdout.split(/\n(?=\S)/).find((s) => s.startsWith(`${id} `)) ?? '';
  assert.deepEqual(section.split('\n').filter((l) => l.includes('downloaded: ')).map((l) => l.trim().split(/\s+/)[0]), ['fp32', 'q4']);
  // On the CPU the catalog's device variant (q4) is the one loaded now; it completes, with the same text for any drafter.
  const withQ4 = await complete('none');
  const lookup = await complete('prompt-lookup');
  assert.ok(withQ4.tokens > 0);
  assert.equal(lookup.text, withQ4.text);
});
