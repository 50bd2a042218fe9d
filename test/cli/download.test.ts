/**
 * The `lockstep download` command against the fake Hub: progress on stderr and the directory on stdout, "already
 * downloaded", --list, --json, bundled models, one-line errors, and its help.
 */
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { main } from '../../src/cli/main';
import { sha256 } from '../helpers/fakeHub';
import { writeCatalogDir } from '../helpers/catalogDir';
import { DRAFTER_A_DIR } from '../helpers/models';
import { COMMIT, ENTRY, ONNX, hub, snap, tmp, useFakeHub } from '../helpers/downloadFixture';

let n = 0;
let cache = '';
useFakeHub(() => cache, () => (cache = path.join(tmp, `cache${++n}`)));

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
      // An unknown variant is a usage error, exit 2 as an unknown id is.
      [['download', 'fake-drafter', '--variant', 'int3', ...common], 2, /^lockstep: --variant: .*no variant "int3" \(variants: fp32, q4f16\)$/],
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
