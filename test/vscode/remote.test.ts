/**
 * The extension with `lockstep.server.url` (stand-in vscode, test/vscode/fakeVscode.ts): the provider asks a server's
 * native endpoints instead of the local engine and gets the same bytes; the seed commands, the cache, the token
 * from SecretStorage, cancellation and Verify Drafter Invariance work against it. The server is src/server's
 * LockstepServer over the real engine in this process (test/helpers/nativeServer.ts).
 */
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LockstepApi } from '../../src/vscode/extension';
import { TOKEN_NOTICE } from '../../src/vscode/remoteEngine';
import { DRAFTER_A_DIR, DRAFTER_B_DIR, TARGET_DIR } from '../helpers/models';
import { startNativeServer, type NativeServer } from '../helpers/nativeServer';
import { CancellationTokenSource, FakeDocument, FakeSecretStorage, FakeVscode, Position, fileUri } from './fakeVscode';
import { extensionUnderTest } from './extensionUnderTest';

const fake = new FakeVscode();
const secrets = new FakeSecretStorage();
const under = extensionUnderTest(fake, { secrets });

const SOURCE = ['function average(values) {', '  let sum = 0;', '  for (const v of values) {', '    sum += v;', '  }', '  ', '}', ''].join('\n');
const CURSOR = new Position(5, 2);
let api: LockstepApi;
let server: NativeServer;

function newDoc(): FakeDocument {
  return new FakeDocument(fileUri('/work/average.js'), SOURCE);
}

async function provide(cancel?: CancellationTokenSource): Promise<string | undefined> {
  const src = cancel ?? new CancellationTokenSource();
  const items = await fake.providers[0].provider.provideInlineCompletionItems(newDoc(), CURSOR, { triggerKind: 0, selectedCompletionInfo: undefined }, src.token);
  return items?.[0]?.insertText;
}

/** A fresh generation (not the cache) at the cursor. */
async function generate(): Promise<string> {
  api.clearCache();
  const n = api.generatedCount();
  const text = await provide();
  assert.equal(api.generatedCount(), n + 1, JSON.stringify(fake.messages.slice(-3)));
  return text ?? '';
}

function lastPost(): NativeServer['requests'][number] {
  return server.requests.filter((r) => r.method === 'POST').at(-1)!;
}

async function until(what: string, f: () => boolean, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!f()) {
    if (Date.now() - t0 > ms) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the extension with lockstep.server.url (stand-in vscode; lockstep serve\'s server)', () => {
  const local = new Map<number, string>();
  let seeds: number[] = [];

  before(async () => {
    // The same execution options on both sides (the fused-operator copy differs from the original file in the last bits).
    server = await startNativeServer({
      target: TARGET_DIR, threads: 1, device: 'cpu', fusedOps: false,
      drafters: [{ name: 'lockstep-drafter-a', dir: DRAFTER_A_DIR }, { name: 'lockstep-drafter-b', dir: DRAFTER_B_DIR }],
    });
    // Temperature 1: another seed gives another text.
    fake.config = { threads: 1, maxTokens: 32, device: 'cpu', fusedOperators: false, temperature: 1 };
    api = await under.activate();
  });
  after(async () => {
    await under.close();
    await server.close();
  });

  test('the local engine: the texts of two seeds', async () => {
    seeds = [api.seed()];
    local.set(seeds[0], await generate());
    seeds.push((await fake.commands.get('lockstep.nextSeed')!()) as number);
    local.set(seeds[1], await generate());
    await fake.commands.get('lockstep.previousSeed')!();
    assert.equal(api.seed(), seeds[0]);
    assert.ok(local.get(seeds[0])!.length > 0);
    assert.notEqual(local.get(seeds[1]), local.get(seeds[0]), 'the next seed changes the text');
  });

  test('with a server: the same ghost text, byte for byte, from the server; the status bar names it', async () => {
    fake.setConfig({ 'server.url': `${server.url}/` });
    const info = await api.engineReady();
    assert.equal(info.target, TARGET_DIR);
    const host = new URL(server.url).host;
    assert.match(fake.statusBar.text, new RegExp(`Lockstep: lockstep-target @ ${host.replace(/\./g, '\\.')}`), fake.statusBar.text);
    const posts = server.requests.filter((r) => r.method === 'POST').length;
    assert.equal(await generate(), local.get(seeds[0]));
    assert.equal(server.requests.filter((r) => r.method === 'POST').length, posts + 1, 'the completion came from the server');
    const r = lastPost();
    assert.equal(r.body?.seed, seeds[0]);
    assert.equal(r.body?.drafter, 'auto', "the server's auto drafter");
    assert.match(String(r.headers['x-lockstep-client']), /^vscode-[0-9a-f-]{36}$/);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers.authorization, undefined, 'no token stored: none sent');
    assert.equal(api.lastCompletion()?.result?.text, local.get(seeds[0]));
  });

  test('Next Seed asks the server with the next seed (the local text for it); Previous Seed comes back from the cache', async () => {
    assert.equal(await fake.commands.get('lockstep.nextSeed')!(), seeds[1]);
    const text = await provide();
    assert.equal(text, local.get(seeds[1]));
    assert.equal(lastPost().body?.seed, seeds[1]);
    const posts = server.requests.length;
    await fake.commands.get('lockstep.previousSeed')!();
    assert.equal(await provide(), local.get(seeds[0]));
    assert.equal(api.lastCompletion()?.fromCache, true);
    assert.equal(server.requests.length, posts, 'a cache hit asks nothing');
  });

  test('a server that needs a token: one notice naming the command; the stored token is sent as a bearer token', async () => {
    server.token = 'sekret-123';
    const before = fake.messages.length;
    api.clearCache();
    assert.equal(await provide(), undefined);
    assert.equal(await provide(), undefined);
    const notices = fake.messages.slice(before).filter((m) => m.text === `Lockstep: ${TOKEN_NOTICE}`);
    assert.equal(notices.length, 1, JSON.stringify(fake.messages.slice(before)));
    assert.match(String(fake.statusBar.tooltip), /error: the server needs a token/);
    fake.inputAnswer = 'sekret-123';
    assert.equal(await fake.commands.get('lockstep.setServerToken')!(), true);
    assert.equal(secrets.values.get('lockstep.server.token'), 'sekret-123');
    assert.equal(fake.config['server.token'], undefined, 'never in settings');
    await api.engineReady();
    assert.equal(await generate(), local.get(seeds[0]));
    assert.equal(lastPost().headers.authorization, 'Bearer sekret-123');
    assert.doesNotMatch(String(fake.statusBar.tooltip), /error/);
  });

  test('cancelling a completion aborts its HTTP request', async () => {
    server.hold = true;
    api.clearCache();
    const n = server.requests.length;
    const src = new CancellationTokenSource();
    const aborted = server.nextAbort();
    const pending = provide(src);
    await until('the request at the server', () => server.requests.length > n);
    src.cancel();
    await aborted;
    assert.equal(await pending, undefined);
    assert.equal(server.aborted, 1);
    server.hold = false;
  });

  test('Verify Drafter Invariance runs every drafter the server lists: all identical', async () => {
    fake.activeTextEditor = { document: newDoc(), selection: { active: CURSOR } };
    const info = await api.engineReady();
    const n = server.requests.length;
    const outcome = await api.verify({ show: false });
    assert.equal(outcome.identical, true, outcome.markdown);
    assert.deepEqual([...new Set(outcome.runs.map((r) => r.drafter))].sort(), [...info.drafters].sort());
    assert.ok(info.drafters.length >= 4, info.drafters.join(', '));
    const asked = server.requests.slice(n).filter((r) => r.method === 'POST').map((r) => `${r.body?.coupling} ${r.body?.drafter}`);
    assert.deepEqual(asked.sort(), outcome.runs.map((r) => `${r.coupling} ${r.drafter}`).sort());
    assert.equal(outcome.groups.find((g) => g.coupling === 'gumbel')?.reference, local.get(seeds[0]));
    fake.activeTextEditor = undefined;
  });

  test('a drafter the server has not loaded: its error, once', async () => {
    const before = fake.messages.length;
    fake.setConfig({ drafter: 'no-such-drafter' });
    api.clearCache();
    assert.equal(await provide(), undefined);
    const shown = fake.messages.slice(before).filter((m) => /the server refused the request: .*no-such-drafter/.test(m.text));
    assert.equal(shown.length, 1, JSON.stringify(fake.messages.slice(before)));
    fake.setConfig({ drafter: undefined });
  });

  test('an unreachable server: the status bar and one notice say so; a bad URL is refused with a warning', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const before = fake.messages.length;
    fake.setConfig({ 'server.url': `http://127.0.0.1:${port}` });
    await assert.rejects(api.engineReady(), /server unreachable: ECONNREFUSED/);
    assert.match(fake.statusBar.text, /error/);
    assert.match(String(fake.statusBar.tooltip), /server unreachable: ECONNREFUSED/);
    assert.equal(fake.messages.slice(before).filter((m) => /server unreachable/.test(m.text)).length, 1);
    fake.setConfig({ 'server.url': 'ftp://example.com' });
    assert.ok(fake.messages.some((m) => m.level === 'warn' && /"lockstep\.server\.url" must be an http:\/\/ or https:\/\/ URL/.test(m.text)));
    // Refused: the local engine again, with the local text.
    await api.engineReady();
    assert.equal(await generate(), local.get(seeds[0]));
  });
});
