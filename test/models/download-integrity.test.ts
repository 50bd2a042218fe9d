/**
 * What a download refuses to keep: bytes whose sha256 is wrong (for big files and for small ones the catalog pins), a
 * catalog pin the Hub disagrees with (before any transfer), an HTML page instead of the file; and what it keeps loads
 * with the engine, giving the bundled model's logits bit for bit.
 */
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CausalLM } from '../../src/engine/runtime/model';
import { downloadModel, isDownloaded } from '../../src/models/download';
import { sha256 } from '../helpers/fakeHub';
import { DRAFTER_A_DIR, rowsEqualBitwise } from '../helpers/models';
import {
  COMMIT, ENTRY, ONNX, REPO, byPath, catalogWith, hub, incompleteOf, lockFiles, opts, rejectsWith, repoDir, snap, tmp,
  useFakeHub,
} from '../helpers/downloadFixture';

let n = 0;
let cache = '';
useFakeHub(() => cache, () => (cache = path.join(tmp, `cache${++n}`)));

describe('downloadModel', () => {
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
});
