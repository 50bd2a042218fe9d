/**
 * Talking to the Hub: redirects (a renamed repository, the CDN on another port), HF_TOKEN sent to the Hub only, 404s
 * final and naming what is missing, HF_HUB_OFFLINE (no network: the cache or a clear failure), and requests refused
 * before any network (a bundled entry, an unknown variant, a bad endpoint).
 */
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadCatalog } from '../../src/models/catalog';
import { downloadModel } from '../../src/models/download';
import { ENTRY, ONNX, REPO, catalogWith, hub, opts, rejectsWith, snap, tmp, useFakeHub } from '../helpers/downloadFixture';

let n = 0;
let cache = '';
useFakeHub(() => cache, () => (cache = path.join(tmp, `cache${++n}`)));

describe('downloadModel', () => {
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

  test('HF_HUB_OFFLINE: no network; the cache or a clear failure', async () => {
    await rejectsWith(downloadModel(ENTRY, opts({ env: { HF_HUB_OFFLINE: '1' } })), 'offline', /not complete in .* HF_HUB_OFFLINE is set/);
    assert.equal(hub.requests.length, 0);
    await downloadModel(ENTRY, opts());
    hub.clearRequests();
    assert.equal(await downloadModel(ENTRY, opts({ env: { HF_HUB_OFFLINE: 'true' } })), snap());
    await rejectsWith(downloadModel(ENTRY, opts({ env: { HF_HUB_OFFLINE: 'YES' }, variant: 'q4f16' })), 'offline', /missing: onnx\/model_q4f16\.onnx/);
    assert.equal(hub.requests.length, 0);
  });

  test('bad requests: a bundled entry, an unknown variant, a bad endpoint', async () => {
    const shipped = loadCatalog().models.find((m) => m.bundled !== undefined)!;
    await rejectsWith(downloadModel(shipped, opts()), 'invalid', /ships with Lockstep/);
    await rejectsWith(downloadModel(ENTRY, opts({ variant: 'int3' })), 'invalid', /no variant "int3" \(variants: fp32, q4f16\)/);
    await rejectsWith(downloadModel(ENTRY, opts({ endpoint: 'ftp://example' })), 'invalid', /must be an http/);
    assert.equal(hub.requests.length, 0);
  });
});
