/**
 * The team setup of docs/serve.md on loopback: two `lockstep serve` replicas running different drafters behind nginx,
 * which hashes X-Lockstep-Client consistently. Checks that (1) the same request gives the same bytes whichever replica
 * answers, and the bytes of `lockstep complete --request`; (2) every request of one client reaches one replica (the
 * replicas' own /metrics counters, not only the router's header), and different clients use both; (3) `lockstep bench
 * serve --quick` runs both setups without errors, its counts add up, and sampled answers reproduce. No time is asserted.
 *
 * nginx comes from the PATH, or from test/router/setup.sh (Debian's package, extracted into a cache). When neither
 * works (no apt, no network) the tests are skipped with the reason.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../src/cli/main';
import { benchMain, isBenchArgv } from '../../bench/main';
import { packageRoot } from '../../src/models/catalog';
import { clientText, requestBody } from '../../bench/serve/load';
import { COMPLETE_ROUTE, metricSum, parseMetrics } from '../../bench/serve/serve';
import { type Replica, startReplica } from '../../bench/serve/procs';
import { CLIENT_HEADER, type Router, UPSTREAM_HEADER, findNginx, startRouter } from '../../bench/serve/router';

const ROOT = packageRoot();
const DRAFTERS = ['none', 'lockstep-drafter-b'];
const SETTINGS = { seed: 7, temperature: 0.7, maxTokens: 12, mode: 'free' as const, coupling: 'gumbel' as const };

let nginx: string | null = null;
let skip: string | false = false;
try {
  nginx = findNginx({ setup: true, root: ROOT });
  if (!nginx) skip = 'no nginx: test/router/setup.sh is missing';
} catch (e) {
  skip = `no nginx (${(e as Error).message})`;
}
if (skip) process.stderr.write(`serve-router tests skipped: ${skip}\n`);

async function cli(argv: string[], cwd = ROOT): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await (isBenchArgv(argv) ? benchMain : main)(argv, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), readStdin: async () => '', cwd });
  return { code, stdout, stderr };
}

interface Answer {
  status: number;
  text: string;
  replica: string;
  served: unknown;
}

async function complete(url: string, client: string, body: Record<string, unknown>): Promise<Answer> {
  const res = await fetch(`${url}/lockstep/v1/complete`, {
    method: 'POST', headers: { 'content-type': 'application/json', [CLIENT_HEADER]: client }, body: JSON.stringify(body),
  });
  const raw = await res.text();
  assert.equal(res.status, 200, raw);
  const j = JSON.parse(raw) as { text: string; lockstep: { request: unknown } };
  return { status: res.status, text: j.text, replica: res.headers.get(UPSTREAM_HEADER) ?? '', served: j.lockstep.request };
}

/** `lockstep complete --request FILE` of what the server ran: its text. */
async function reproduce(served: unknown, dir: string): Promise<string> {
  const file = path.join(dir, `request-${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(file, JSON.stringify(served));
  const r = await cli(['complete', '--request', file, '--threads', '1', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { text: string }).text;
}

/** Completion requests each replica has counted (lockstep_requests_total of the native route, its /metrics). */
async function requestCounts(replicas: readonly Replica[]): Promise<number[]> {
  return Promise.all(replicas.map(async (r) => {
    const m = parseMetrics(await (await fetch(`${r.url}/metrics`)).text());
    return metricSum(m, 'lockstep_requests_total', { route: COMPLETE_ROUTE }) ?? 0;
  }));
}

describe('two lockstep serve replicas behind nginx (consistent hash on X-Lockstep-Client)', { skip }, () => {
  const replicas: Replica[] = [];
  let router: Router;
  let tmp = '';
  /** Client ids by the replica (host:port) the router sends them to. */
  const byReplica = new Map<string, string[]>();

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-router-'));
    for (const d of DRAFTERS) replicas.push(await startReplica(['--drafter', d, '--threads', '1']));
    router = await startRouter(nginx as string, replicas.map((r) => ({ host: r.host, port: r.port })));
    // Where the hash sends 32 ids (a cheap request: /health is routed like any other).
    for (let i = 0; i < 32; i++) {
      const id = `dev-${i}`;
      const res = await fetch(`${router.url}/health`, { headers: { [CLIENT_HEADER]: id } });
      assert.equal(res.status, 200);
      const up = res.headers.get(UPSTREAM_HEADER) ?? '';
      byReplica.set(up, [...(byReplica.get(up) ?? []), id]);
    }
  });
  after(async () => {
    await router?.stop();
    await Promise.all(replicas.map((r) => r.stop()));
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('the hash spreads different clients over both replicas', () => {
    const expected = replicas.map((r) => `${r.host}:${r.port}`).sort();
    assert.deepEqual([...byReplica.keys()].sort(), expected, 'both replicas receive clients');
  });

  it('the same request gives the same bytes from either replica (different drafters) and from lockstep complete', async () => {
    const { before: pre, typed, after: post } = clientText(0, 40);
    const body = requestBody(pre + typed, post, SETTINGS);
    const clients = [...byReplica.values()].flatMap((ids) => ids.slice(0, 3));
    const answers = await Promise.all(clients.map((c) => complete(router.url, c, body)));
    assert.equal(new Set(answers.map((a) => a.replica)).size, 2, 'both replicas answered');
    const texts = new Set(answers.map((a) => a.text));
    assert.equal(texts.size, 1, `one text: ${JSON.stringify([...texts])}`);
    assert.equal(await reproduce(answers[0].served, tmp), answers[0].text);
  });

  it('every request of one client reaches one replica; the replicas\' own counters show it', async () => {
    const ids = [...byReplica.values()].flatMap((list) => list.slice(0, 2));
    const perClient = 3;
    const touched = new Set<number>();
    for (const id of ids) {
      const c0 = await requestCounts(replicas);
      for (let k = 0; k < perClient; k++) {
        const { before: pre, typed, after: post } = clientText(1, 10 + k);
        await complete(router.url, id, requestBody(pre + typed, post, SETTINGS));
      }
      const c1 = await requestCounts(replicas);
      const grew = c1.map((x, i) => x - c0[i]);
      // Exactly one replica counted this client's requests, all of them (and nothing else ran meanwhile).
      assert.equal(grew.filter((g) => g > 0).length, 1, `${id}: ${grew.join(', ')}`);
      assert.equal(Math.max(...grew), perClient, `${id}: ${grew.join(', ')}`);
      touched.add(grew.findIndex((g) => g > 0));
    }
    assert.equal(touched.size, 2, 'the clients used both replicas');
    // The router's own log agrees: one upstream per client.
    const log = router.accessLog().map((l) => l.split(' ')).filter((f) => f[3] === '200' && ids.includes(f[1]));
    for (const id of ids) assert.equal(new Set(log.filter((f) => f[1] === id).map((f) => f[2])).size, 1, id);
  });
});

describe('lockstep bench serve --quick (one server, then two replicas behind nginx)', { skip }, () => {
  let tmp = '';
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-bench-serve-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('counts add up, no errors, one replica per client, sampled answers equal lockstep complete', async () => {
    const saved = process.env.LOCKSTEP_NGINX;
    process.env.LOCKSTEP_NGINX = nginx as string;
    let r: { code: number; stdout: string; stderr: string };
    try {
      r = await cli(['bench', 'serve', '--quick', '--json', '--quiet', '--out', tmp, '--keystrokes', '10', '--max-tokens', '6',
        '--drafter', DRAFTERS.join(','), '--samples', '2', '--debug'], tmp);
    } finally {
      if (saved === undefined) delete process.env.LOCKSTEP_NGINX;
      else process.env.LOCKSTEP_NGINX = saved;
    }
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as {
      bench: string; routerSkipped: string | null; rows: Record<string, never>[]; samples: { text: string; served: unknown; setup: string }[];
    };
    assert.equal(report.bench, 'serve');
    assert.equal(report.routerSkipped, null);
    assert.ok(fs.existsSync(path.join(tmp, 'serve.json')));
    assert.deepEqual(report.rows.map((x) => [x.setup, x.clients, x.replicas]), [['single', 1, 1], ['single', 4, 1], ['router', 1, 2], ['router', 4, 2]]);
    for (const x of report.rows as unknown as Record<string, number & Record<string, number>>[]) {
      const label = `${x.setup} K=${x.clients}`;
      assert.equal(x.errors, 0, `${label}: ${JSON.stringify(x.errorNotes)}`);
      assert.equal(x.requests, x.clients * 10, label);
      assert.equal(x.requests, x.completed + x.superseded + x.status429 + x.status503 + x.errors, label);
      // A client's last keystroke is never replaced: each client gets at least one completion (unless refused).
      assert.ok(x.completed + x.status503 + x.status429 >= x.clients, label);
      assert.equal(Object.values(x.byReplica as Record<string, number>).reduce((a, b) => a + b, 0), x.completed, label);
      assert.equal(x.clientsOnSeveralReplicas, 0, label);
      if (x.completed > 0) assert.ok(x.p50Ms <= x.p95Ms, label);
      assert.ok(x.queueMax === null || (x.queueMax >= 0 && x.queueMax <= x.clients), `${label}: queue ${x.queueMax}`);
    }
    assert.ok(report.samples.length > 0 && report.samples.some((s) => s.setup === 'router'));
    for (const s of report.samples) assert.equal(await reproduce(s.served, tmp), s.text, JSON.stringify(s.served).slice(0, 200));
  });
});
