/**
 * Smoke tests of every `lockstep bench` command (so the benchmarks cannot rot): each runs in --quick mode with tiny
 * sizes, and the test checks the JSON's shape and sanity, the result file and the figure. No timing is asserted.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { argvForAll } from '../../bench/cli';
import { benchMain } from '../../bench/main';
import { generateStandin } from '../../tools/standin/generate';

let tmp = '';
let figs = '';

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await benchMain(argv, {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    readStdin: async () => '',
    cwd: tmp,
  });
  return { code, stdout, stderr };
}

/** Runs `lockstep bench <sub> --quick --json …` into the temp dirs and returns the parsed report. */
async function bench(sub: string, extra: string[]): Promise<Record<string, any>> {
  const r = await run(['bench', sub, '--quick', '--json', '--quiet', '--out', tmp, '--media', figs, ...extra]);
  assert.equal(r.code, 0, `bench ${sub} failed: ${r.stderr}`);
  const report = JSON.parse(r.stdout) as Record<string, any>;
  assert.ok(Array.isArray(report.rows) && report.rows.length > 0, 'rows');
  assert.equal(typeof report.machine.cpu, 'string');
  assert.ok(report.machine.cores >= 1);
  assert.ok('commit' in report);
  assert.ok(report.command.startsWith(`lockstep bench ${sub}`));
  const file = path.join(tmp, `${sub}.json`);
  assert.ok(fs.existsSync(file), `${file} written`);
  assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).bench, sub);
  for (const f of report.figures as string[]) {
    const svg = fs.readFileSync(path.resolve(tmp, f), 'utf8');
    assert.match(svg, /^<svg[\s\S]*<\/svg>\s*$/, `${f} is an SVG`);
  }
  return report;
}

const finite = (x: unknown) => typeof x === 'number' && Number.isFinite(x);

describe('lockstep bench (smoke)', () => {
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-bench-'));
    figs = path.join(tmp, 'figs');
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('speed: rows with the interface fields, the baseline at 1×, a figure', async () => {
    const r = await bench('speed', ['--prompts', '1', '--max-tokens', '6', '--gamma', '2', '--temperature', '0.7', '--coupling', 'gumbel', '--drafter', 'prompt-lookup,lockstep-drafter-a']);
    const drafters = new Set(r.rows.map((x: any) => x.drafter));
    assert.deepEqual([...drafters].sort(), ['lockstep-drafter-a', 'none', 'prompt-lookup']);
    for (const row of r.rows) {
      for (const k of ['tokensPerSecond', 'speedup', 'acceptance', 'predictedSpeedup', 'efficiency', 'speedupP25', 'speedupP75', 'tokensPerTargetCall', 'targetCallsPerCompletion']) {
        assert.ok(finite(row[k]), `${row.drafter} ${k} = ${row[k]}`);
      }
      assert.equal(row.coupling, 'gumbel');
      assert.equal(row.temperature, 0.7);
      assert.ok(row.acceptance >= 0 && row.acceptance <= 1);
      assert.ok(row.tokensPerSecond > 0 && row.predictedSpeedup > 0);
      assert.ok(row.speedupP25 <= row.speedup + 1e-12 && row.speedup <= row.speedupP75 + 1e-12);
    }
    const none = r.rows.find((x: any) => x.drafter === 'none');
    assert.equal(none.speedup, 1);
    assert.equal(none.gamma, 1);
    assert.ok(r.rows.filter((x: any) => x.drafter !== 'none').every((x: any) => x.gamma === 2));
    assert.deepEqual(r.figures.map((f: string) => path.basename(f)), ['speed.svg']);
  });

  it('coupling: measured Pr[a = b] near the closed forms, the bounds in order, figures per prompt', async () => {
    const trials = 600;
    const r = await bench('coupling', ['--positions', '3', '--trials', String(trials), '--temperature', '1', '--drafter', 'lockstep-drafter-a']);
    assert.equal(r.points.length, 3);
    assert.equal(r.trials, trials);
    for (const p of r.points) {
      assert.ok(p.tv >= 0 && p.tv <= 1);
      assert.ok(Math.abs(p.optimal - (1 - p.tv)) < 1e-12);
      // 1 − TV ≥ Gumbel ≥ WMH ≥ (1 − TV)/(1 + TV) for the closed forms (the paper's ordering).
      assert.ok(p.optimal >= p.gumbelTheory - 1e-9, 'Gumbel ≤ 1 − TV');
      assert.ok(p.gumbelTheory >= p.wmhTheory - 1e-9, 'Gumbel ≥ WMH');
      assert.ok(p.wmhTheory >= p.wmhBound - 1e-9, 'WMH ≥ (1 − TV)/(1 + TV)');
      for (const [m, th] of [[p.gumbelMeasured, p.gumbelTheory], [p.wmhMeasured, p.wmhTheory]]) {
        const se = Math.sqrt((th * (1 - th)) / trials);
        assert.ok(Math.abs(m - th) <= 5 * se + 0.02, `measured ${m} vs closed form ${th}`);
      }
    }
    assert.equal(r.rows.length, 1);
    assert.equal(r.rows[0].positions, 3);
    const names = r.figures.map((f: string) => path.basename(f)).sort();
    assert.deepEqual(names, ['coupling-lockstep-drafter-a-prompt1.svg', 'coupling-vs-tv.svg']);
  });

  it('overhead: shares in [0, 1], the allocation table, peak RSS', async () => {
    const r = await bench('overhead', ['--max-tokens', '4', '--alloc-calls', '10', '--drafter', 'lockstep-drafter-a']);
    assert.equal(r.rows.length, 8);
    for (const row of r.rows) {
      assert.ok(row.outsideRunShare >= 0 && row.outsideRunShare <= 1, `${row.config}: ${row.outsideRunShare}`);
      assert.ok(row.steps > 0 && row.wallSeconds > 0);
    }
    assert.ok(r.allocations.length >= 5);
    for (const a of r.allocations) assert.ok(finite(a.microsecondsPerCall) && (a.bytesPerCall === null || a.bytesPerCall >= 0));
    assert.ok(r.peakRssMiB > 0);
  });

  it('invariance: every comparison identical, the equivalent verify command', async () => {
    const r = await bench('invariance', ['--cases', '1', '--gamma', '2', '--temperature', '0.7', '--max-tokens', '6', '--drafter', 'lockstep-drafter-a,prompt-lookup']);
    assert.equal(r.comparisons, 2 * 2); // 2 drafters × 2 couplings × 1 γ × 1 T × 1 case
    assert.equal(r.differing, 0, JSON.stringify(r.mismatches.slice(0, 2)));
    assert.equal(r.identical, r.comparisons);
    assert.equal(r.verifyCommand,
      'npx lockstep verify --drafter lockstep-drafter-a,prompt-lookup --coupling gumbel,wmh --gamma 2 --temperature 0.7 --cases 1 --max-tokens 6 --mode free');
    assert.equal(r.cells.length, 2 * 2);
  });

  it('latency: p50 ≤ p95 for each drafter, cold and warm', async () => {
    const r = await bench('latency', ['--prompts', '2', '--max-tokens', '4', '--drafter', 'none,prompt-lookup']);
    assert.equal(r.rows.length, 4);
    for (const row of r.rows) {
      assert.ok(row.firstTokenP50Ms > 0 && row.firstTokenP50Ms <= row.firstTokenP95Ms);
      assert.ok(row.lineP50Ms <= row.lineP95Ms && row.firstTokenP50Ms <= row.lineP95Ms);
    }
    assert.equal(r.samples.length, 2 * 2 * 2);
    // The context-assembly row: a 50-file workspace, snippets chosen and fitted (its times are reported, not judged).
    const c = r.contextAssembly;
    assert.equal(c.files, 50);
    assert.ok(c.windows > 50 && c.keystrokes >= 100 && c.snippetsP50 > 0 && c.contextTokensP50 > 0, JSON.stringify(c));
    assert.ok(c.rankP50Ms <= c.rankP95Ms && c.promptP50Ms <= c.promptP95Ms);
  });

  it('realsize: every variant row, the samplers at V = 151 936 and a keystroke\'s tokenization, on a ci-size stand-in', async () => {
    const standin = path.join(tmp, 'standin');
    generateStandin({ size: 'ci', variants: ['fp32', 'q4'], out: standin, seed: 0 });
    const r = await run(['bench', 'realsize', '--quick', '--json', '--quiet', '--out', tmp, '--model-dir', standin, '--prompts', '1', '--max-tokens', '4']);
    assert.equal(r.code, 0, `bench realsize failed: ${r.stderr}`);
    const report = JSON.parse(r.stdout) as Record<string, any>;
    assert.equal(report.bench, 'realsize');
    assert.deepEqual(report.variants.map((v: any) => v.label), ['fp32', 'q4']);
    for (const v of report.variants) {
      for (const k of ['fileMiB', 'loadedFileMiB', 'rssOverLoadedFile', 'loadSeconds', 'peakRssMiB', 'targetCallMs', 'prefillWithLogitsMs', 'prefillNoLogitsMs', 'drafterCallMs']) {
        assert.ok(finite(v[k]) && v[k] > 0, `${v.label} ${k} = ${v[k]}`);
      }
      assert.deepEqual(v.decode.map((x: any) => x.drafter), ['none', 'prompt-lookup', 'standin-drafter']);
      // The default path: the fused copy (made by a first start in a process of its own) is what was loaded and weighed.
      assert.match(v.loadedFile, /[/\\]fused[/\\]/);
    }
    assert.equal(report.sampling.length, 2);
    assert.ok(report.tokenize[0].promptTokens > 1000 && report.tokenize[0].chunksReencodedPerKeystroke <= 2);
    assert.ok(fs.existsSync(path.join(tmp, 'realsize.json')));
  });

  it('exactness: the probe per variant and rule on a ci-size stand-in; q4 exact, dynamic int8 never', async () => {
    const standin = path.join(tmp, 'standin-exactness');
    generateStandin({ size: 'ci', variants: ['q4', 'int8'], out: standin, seed: 0 });
    const r = await run(['bench', 'exactness', '--json', '--out', tmp, '--target', path.join(standin, 'target'), '--variants', 'q4,int8', '--rules', 'min2']);
    assert.equal(r.code, 0, `bench exactness failed: ${r.stderr}`);
    const report = JSON.parse(r.stdout) as Record<string, any>;
    assert.equal(report.bench, 'exactness');
    assert.deepEqual(report.verdicts.map((v: any) => [v.variant, v.exact]), [['q4', true], ['int8', false]]);
    const q4 = report.rows.find((x: any) => x.variant === 'q4');
    assert.deepEqual(q4.equal, q4.rows);
    const int8 = report.rows.find((x: any) => x.variant === 'int8');
    assert.ok(int8.equal.some((e: number, i: number) => e < int8.rows[i]));
    assert.ok(fs.existsSync(path.join(tmp, 'exactness.json')));
  });

  it('peer: validated conversions, both systems\' arms, same-run ratios and invariance counts in the documented shape', async () => {
    const r = await bench('peer', ['--prompts', '1', '--max-tokens', '8', '--cases', '1', '--validate-prompts', '1', '--gguf-dir', path.join(tmp, 'gguf')]);
    assert.deepEqual(r.validation.map((v: any) => v.identical === v.prompts), [true, true, true]);
    assert.deepEqual(r.rows.filter((x: any) => x.system === 'lockstep').map((x: any) => x.arm),
      ['none', 'prompt-lookup', 'lockstep-drafter-a', 'lockstep-drafter-b', 'prompt-lookup+lockstep-drafter-b', 'auto', 'none (Optimum graph)']);
    assert.equal(r.rows.filter((x: any) => x.system === 'llama.cpp').length, 5);
    for (const row of r.rows) {
      assert.ok(row.tokensPerSecond > 0 && finite(row.vsLlamaPlain) && finite(row.prefillMs), JSON.stringify(row));
      assert.equal(row.threads, 1);
    }
    assert.ok(finite(r.ratios.plain) && finite(r.ratios.best));
    // One case each: Lockstep's five arms that draft (prompt lookup, A, B, lookup + B, auto), llama.cpp's four predictors.
    for (const [k, arms] of [['lockstep', 5], ['llama.cpp', 4]] as const) {
      assert.ok(Number.isInteger(r.invariance[k].identical) && r.invariance[k].cases === arms, `${k}: ${JSON.stringify(r.invariance[k])}`);
    }
    // Lockstep's text never depends on the drafter.
    assert.equal(r.invariance.lockstep.identical, r.invariance.lockstep.cases);
    assert.deepEqual(r.figures.map((f: string) => path.basename(f)), ['peer.svg']);
  });

  it('peer --target on a folder holding fp32 and q4 (the stand-in a user downloads): Lockstep as it loads by default (q4 through its fused copy) against llama.cpp Q4_0, validated fp32 against F32', async () => {
    const standin = path.join(tmp, 'standin-peer');
    const s = generateStandin({ size: 'ci', variants: ['fp32', 'q4'], out: standin, seed: 0 });
    const r = await bench('peer', [
      '--target', s.target, '--drafter-b', s.drafter!, '--drafter-a', 'none', '--prompts', '1', '--max-tokens', '8', '--cases', '1',
      '--validate-prompts', '1', '--gguf-dir', path.join(tmp, 'gguf-standin'),
    ]);
    // Like against like: both folders' fp32 files against their F32 conversions (not the preferred q4 file).
    assert.deepEqual(r.validation.map((v: any) => v.identical === v.prompts), [true, true]);
    assert.equal(r.variant, 'q4');
    assert.equal(r.llamaType, 'Q4_0');
    assert.match(r.loadedFile, /[/\\]fused[/\\]/);
    const lock = r.rows.filter((x: any) => x.system === 'lockstep');
    // One model drafter (--drafter-a none): plain, prompt lookup, the drafter, both, auto, and the file as it is (no fused copy).
    assert.equal(lock.length, 6);
    assert.deepEqual([lock[0].arm, lock[1].arm, lock[4].arm, lock[5].arm], ['none', 'prompt-lookup', 'auto', 'none (Optimum graph)']);
    assert.match(lock[3].arm, /^prompt-lookup\+/);
    assert.doesNotMatch(lock[5].file, /[/\\]fused[/\\]/);
    assert.equal(lock[0].variant, 'q4');
    assert.equal(lock[0].file, r.loadedFile);
    for (const row of r.rows.filter((x: any) => x.system === 'llama.cpp')) {
      assert.equal(row.variant, 'Q4_0');
      assert.match(row.file, /-q4_0\.gguf$/);
    }
    assert.equal(r.invariance.lockstep.identical, r.invariance.lockstep.cases);
  });

  it('callcost: T(k)/T(1) for both systems on the default path, and the speed-ups a free drafter would give', async () => {
    const standin = path.join(tmp, 'standin-peer');
    if (!fs.existsSync(standin)) generateStandin({ size: 'ci', variants: ['fp32', 'q4'], out: standin, seed: 0 });
    const r = await bench('callcost', ['--target', path.join(standin, 'target'), '--past', '32', '--gguf-dir', path.join(tmp, 'gguf-standin')]);
    assert.equal(r.variant, 'q4');
    assert.equal(r.llamaType, 'Q4_0');
    for (const system of ['lockstep', 'llama.cpp']) {
      const rows = r.rows.filter((x: any) => x.system === system);
      assert.deepEqual(rows.map((x: any) => x.k), [1, 2, 3, 4]);
      assert.equal(rows[0].ratio, 1);
      for (const row of rows) assert.ok(row.ms > 0 && finite(row.ratio), JSON.stringify(row));
      const p = r.predictions.filter((x: any) => x.system === system);
      assert.deepEqual(p.map((x: any) => x.acceptance), [0.5, 0.6, 0.7, 0.8, 0.9]);
      for (const x of p) assert.ok(x.speedup >= 1 && x.gamma >= 0 && x.gamma <= 3, JSON.stringify(x));
    }
  });

  it('breakdown: the parts of a target call add up, the profile names operators', async () => {
    const r = await bench('breakdown', ['--max-tokens', '4']);
    const part = (p: string) => r.rows.find((x: any) => x.part.trim().startsWith(p)).msPerCall;
    const whole = part('whole decode step');
    const parts = ['KV cut', 'feeds', 'session.run()', 'outputs', 'argmax', 'rest of the step'].map(part);
    assert.ok(Math.abs(parts.reduce((a: number, b: number) => a + b, 0) - whole) < 1e-6 * Math.max(1, whole));
    const inRun = ['binding', 'onnxruntime executor', 'kernels'].map(part);
    assert.ok(Math.abs(inRun.reduce((a: number, b: number) => a + b, 0) - part('session.run()')) < 1e-6);
    assert.ok(r.operators.some((o: any) => o.op === 'MatMul'));
    assert.ok(r.profiled.nodesPerCall > 0 && r.calls === 4);
  });

  it('quality: each arm with and without context at T = 0 and over seeds, metrics in [0, 1], a figure', async () => {
    const r = await bench('quality', ['--cross-file', '1', '--random', '1', '--seeds', '2', '--line-tokens', '4', '--block-tokens', '6']);
    assert.deepEqual([...new Set(r.rows.map((x: any) => x.arm))], ['without-context', 'with-context']);
    assert.deepEqual([...new Set(r.rows.map((x: any) => x.temperature))], [0, 0.2]);
    for (const row of r.rows) {
      for (const k of ['exactMatch', 'editSimilarity', 'identifierF1']) assert.ok(row[k] >= 0 && row[k] <= 1, `${row.arm} ${row.group} ${k} = ${row[k]}`);
      assert.equal(row.context, row.arm === 'with-context');
      assert.equal(row.seeds, row.temperature === 0 ? 1 : 2);
    }
    // every task runs in both arms, once at T = 0 and once per seed
    assert.equal(r.samples.length, r.tasks.length * 2 * 3);
    assert.ok(r.tasks.some((t: any) => t.selection === 'cross-file') && r.tasks.some((t: any) => t.selection === 'random'));
    // the context arm of the project's models carries snippets of the package's other files
    assert.ok(r.samples.some((x: any) => x.arm === 'with-context' && x.snippets > 0));
    assert.ok(r.samples.filter((x: any) => x.arm === 'without-context').every((x: any) => x.snippets === 0));
    assert.deepEqual(r.figures.map((f: string) => path.basename(f)), ['quality.svg']);
  });

  it('soak: the real extension under a fast typist; the last completion arrives, no engine process is left', async () => {
    const r = await run(['bench', 'soak', '--quick', '--json', '--quiet', '--out', tmp]);
    assert.equal(r.code, 0, `bench soak failed: ${r.stderr}`);
    const report = JSON.parse(r.stdout) as Record<string, any>;
    assert.equal(report.bench, 'soak');
    assert.ok(report.command.startsWith('lockstep bench soak'));
    assert.ok(report.machine.cores >= 1 && 'commit' in report);
    assert.equal(JSON.parse(fs.readFileSync(path.join(tmp, 'soak.json'), 'utf8')).bench, 'soak');
    assert.deepEqual(report.rows.map((x: any) => [x.scenario, x.keystrokes, x.debounceMs, x.hog]), [['60-d0', 60, 0, false], ['60-d150-hog', 60, 150, true]]);
    for (const x of report.rows) {
      const counts = ['requests', 'queueMax', 'cancelledBeforeStart', 'cancelledPrefillOnly', 'cancelled', 'completed', 'failed', 'unsettled', 'items',
        'engineProcessesMax', 'workerThreadsMax', 'engineProcessesAtEnd', 'workerThreadsAtEnd'];
      for (const k of counts) assert.ok(Number.isInteger(x[k]) && x[k] >= 0, `${x.scenario} ${k} = ${x[k]}`);
      // Every request issued to the engine is accounted for once.
      assert.equal(x.requests, x.cancelled + x.completed + x.failed + x.unsettled, x.scenario);
      assert.ok(x.cancelledBeforeStart + x.cancelledPrefillOnly <= x.cancelled);
      assert.ok(x.requests <= x.keystrokes);
      if (x.completed > 0) assert.ok(finite(x.p50Ms) && x.p50Ms <= x.p95Ms);
      for (const k of ['rssMiB', 'heapMiB', 'engineRssMiB']) {
        const s = x[k];
        assert.ok(s.series.length >= 1 && s.min <= s.last && s.last <= s.max, `${x.scenario} ${k}`);
      }
      assert.ok(x.rssMiB.min > 0 && x.heapMiB.min > 0);
      assert.ok(Array.isArray(x.queueSeries) && x.queueSeries.every((q: number) => q >= 0 && q <= x.queueMax));
      // The invariants (any engine implementation): the last keystroke's completion arrives, the engine's queue
      // drains, and no engine process or worker thread outlives deactivate().
      assert.notEqual(x.lastKeystroke, 'never', `${x.scenario}: the last keystroke's completion never arrived`);
      assert.notEqual(x.lastKeystroke, 'error', `${x.scenario}: the last keystroke's completion failed: ${x.logProblems.join('; ')}`);
      assert.ok(finite(x.lastKeystrokeMs) && finite(x.drainMs), x.scenario);
      assert.equal(x.unsettled, 0, x.scenario);
      assert.equal(x.engineProcessesAtEnd, 0, `${x.scenario}: engine processes left after deactivate()`);
      assert.equal(x.workerThreadsAtEnd, 0, `${x.scenario}: worker threads left after deactivate()`);
      // Latest wins: at most one request waits behind the running one; superseded requests resolve as cancelled,
      // never as errors; the engine runs in a child process, not in the extension host's threads.
      assert.ok(x.queueMax <= 1, `${x.scenario}: queue max ${x.queueMax}`);
      assert.equal(x.failed, 0, x.scenario);
      assert.equal(x.workerThreadsMax, 0, x.scenario);
      assert.ok(x.engineProcessesMax >= 1 && x.engineRssMiB.max > 0, x.scenario);
    }
    assert.ok(report.rows.some((x: any) => x.completed >= 1), 'a completion');
  });

  it('report: the Results section from the result files', async () => {
    const r = await run(['bench', 'report', '--out', tmp, '--note', 'smoke test']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^## Results\n/);
    assert.match(r.stdout, /> \*\*smoke test\*\*/);
    for (const h of ['### Coupling quality', '### Speed', '### Engine overhead', '### Drafter invariance', '### Latency', '### Soak']) {
      assert.ok(r.stdout.includes(h), h);
    }
    assert.ok(!r.stdout.includes('_Not run yet'), 'every benchmark has results');
    assert.match(r.stdout, /npx lockstep verify --drafter lockstep-drafter-a,prompt-lookup/);
    assert.match(r.stdout, /!\[[^\]]*\]\([^)]*speed\.svg\)/);
    const redraw = path.join(tmp, 'redrawn');
    const again = await run(['bench', 'report', '--out', tmp, '--redraw', '--media', redraw]);
    assert.equal(again.code, 0, again.stderr);
    const drawn = fs.readdirSync(redraw).sort();
    for (const f of ['coupling-vs-tv.svg', 'invariance.svg', 'latency.svg', 'overhead.svg', 'speed.svg']) assert.ok(drawn.includes(f), f);
  });

  it('all: each option goes to the benchmarks that take it', () => {
    const argv = ['--quick', '--out', 'x', '--trials', '100', '--prompts', '2', '--temperature', '0.7', '--drafter', 'lockstep-drafter-a', '--alloc-calls', '5'];
    assert.deepEqual(argvForAll('coupling', argv), ['--quick', '--out', 'x', '--drafter', 'lockstep-drafter-a', '--temperature', '0.7', '--prompts', '2', '--trials', '100']);
    assert.deepEqual(argvForAll('overhead', argv), ['--quick', '--out', 'x', '--drafter', 'lockstep-drafter-a', '--prompts', '2', '--alloc-calls', '5']);
    assert.deepEqual(argvForAll('latency', argv), ['--quick', '--out', 'x', '--drafter', 'lockstep-drafter-a', '--temperature', '0.7', '--prompts', '2']);
    assert.throws(() => argvForAll('latency', ['--temperature', '0,0.7']), /takes one --temperature/);
    assert.deepEqual(argvForAll('quality', [...argv, '--seeds', '2']), ['--quick', '--out', 'x', '--seeds', '2', '--temperature', '0.7']);
  });

  it('help and usage errors', async () => {
    const h = await run(['bench', '--help']);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /Sub-commands: speed, coupling, overhead, invariance, latency, quality, all, report, soak/);
    assert.match((await run(['bench', 'soak', '--help'])).stdout, /--keystrokes/);
    assert.equal((await run(['bench', 'soak', '--hog', 'maybe'])).code, 2);
    assert.equal((await run(['help', 'bench'])).code, 0);
    assert.match((await run(['bench', 'all', '--help'])).stdout, /--trials/);
    const bad = await run(['bench', 'nope']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown bench 'nope'/);
    assert.equal((await run(['bench', 'coupling', '--gamma', '2'])).code, 2);
  });
});
