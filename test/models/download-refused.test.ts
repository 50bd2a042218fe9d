/**
 * A connection that cannot be made: `lockstep download` against a closed port gives up at once with one line (it used
 * to retry with backoff for 31 s at the defaults), while a refused connection after a server has answered — a CDN or
 * server restarting mid-download — is still retried like any transient failure.
 */
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import * as path from 'node:path';
import { main } from '../../src/cli/main';
import { downloadModel } from '../../src/models/download';
import { asDownloadError } from '../../src/models/downloadHttp';
import { ENTRY, hub, opts, rejectsWith, tmp, useFakeHub } from '../helpers/downloadFixture';

let n = 0;
let cache = '';
useFakeHub(() => cache, () => (cache = path.join(tmp, `cache${++n}`)));

/** A local port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('a refused connection', () => {
  test('lockstep download: one line, well within 12 s, at the default retry settings', async () => {
    const port = await closedPort();
    let stdout = '';
    let stderr = '';
    const saved = process.env.HF_HUB_OFFLINE;
    delete process.env.HF_HUB_OFFLINE;
    const t0 = Date.now();
    try {
      const code = await main(['download', 'qwen2.5-coder-0.5b-instruct', '--endpoint', `http://127.0.0.1:${port}`, '--models-dir', cache], {
        stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), cwd: tmp,
      });
      assert.equal(code, 1, stderr);
    } finally {
      if (saved !== undefined) process.env.HF_HUB_OFFLINE = saved;
    }
    const elapsed = Date.now() - t0;
    assert.ok(elapsed < 12_000, `gave up after ${elapsed} ms`);
    assert.equal(stdout, '');
    assert.doesNotMatch(stderr, /retrying/);
    const errors = stderr.split('\n').filter((l) => l.startsWith('lockstep:'));
    assert.equal(errors.length, 1, stderr);
    assert.match(errors[0], new RegExp(`^lockstep: cannot download .*config\\.json: connection refused by 127\\.0\\.0\\.1:${port}; check the endpoint \\(--endpoint, HF_ENDPOINT; now http://127\\.0\\.0\\.1:${port}\\) and the network`));
  });

  test('after a server has answered, a refused connection is retried (the CDN going away mid-download)', async () => {
    const cdn = hub.cdnOrigin;
    hub.cdnOrigin = `http://127.0.0.1:${await closedPort()}`;
    try {
      // The Hub answers every HEAD and redirects the model file to the (now closed) CDN.
      await rejectsWith(downloadModel(ENTRY, opts({ retries: 2 })), 'network', /onnx\/model\.onnx: connection refused by 127\.0\.0\.1:\d+ \(gave up after 3 attempts\)/);
    } finally {
      hub.cdnOrigin = cdn;
    }
  });

  test('unreachable hosts fail at once too; a reset connection stays transient', () => {
    const ctx = { repo: 'r', endpoint: 'https://huggingface.co' };
    for (const code of ['EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN']) {
      const e = asDownloadError(Object.assign(new Error(code), { code }), ctx, 'config.json');
      assert.equal(e.transient, false, code);
      assert.match(e.message, new RegExp(`huggingface\\.co is unreachable \\(${code}\\); check the endpoint`));
      assert.equal(asDownloadError(Object.assign(new Error(code), { code }), { ...ctx, reached: true }, 'config.json').transient, true);
    }
    assert.equal(asDownloadError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }), ctx, 'x').transient, true);
  });
});
