/**
 * `lockstep bench report` — the results as Markdown (bench/RESULTS.md), generated from the JSON files the benchmarks
 * wrote (default .bench-results/): every number it shows comes from a result file, next to the command that made it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CouplingReport } from '../coupling/coupling';
import { InvarianceReport } from '../coupling/invariance';
import { LatencyReport } from '../speed/latency';
import { OverheadReport } from '../speed/overhead';
import type { QualityReport } from '../quality/quality';
import { ReportHead, pct } from '../common';
import { soakMarkdownTable } from '../soak/format';
import type { SoakReport } from '../soak/types';
import { BenchReport } from '../speed/speed';

type WithFigures<T> = T & { figures?: string[] };

function read<T>(dir: string, name: string): WithFigures<T> | undefined {
  const file = path.join(dir, `${name}.json`);
  if (!fs.existsSync(file)) return undefined;
  return JSON.parse(fs.readFileSync(file, 'utf8')) as WithFigures<T>;
}

function mdTable(header: string[], rows: string[][], align?: ('l' | 'r')[]): string {
  const a = align ?? header.map((_, i) => (i === 0 ? 'l' : 'r'));
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    `| ${header.map(esc).join(' | ')} |`,
    `|${a.map((x) => (x === 'l' ? ':---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

function measuredOn(h: ReportHead): string {
  const m = h.machine;
  const models = Object.entries(h.models).map(([n, x]) => `${n} \`${x.onnxSha256}\``).join(', ');
  return `_Measured ${h.date.slice(0, 10)} on ${m.cpu} × ${m.cores} logical CPUs (${m.threads === 0 ? 'onnxruntime default threads' : `${m.threads} threads per model`}, ` +
    `load ${m.loadAverage[0]}), node ${m.node}, onnxruntime ${m.onnxruntime}; commit ${h.commit ? `\`${h.commit.slice(0, 12)}\`` : 'none'}` +
    `${h.dirty ? ' + uncommitted changes' : ''}; model onnx SHA-256 prefixes: ${models}; ${Math.round(h.seconds)} s._`;
}

function command(h: ReportHead): string {
  return `\`\`\`sh\nnpx ${h.command}\n\`\`\``;
}

/** Figure links relative to `root` (the folder of the report's file); figures under media/ only. */
function figureLinks(figs: string[] | undefined, cwd: string, root: string, alt: string): string {
  return (figs ?? [])
    .filter((f) => f.endsWith('.svg'))
    .map((f) => path.relative(root, path.resolve(cwd, f)).split(path.sep).join('/'))
    .map((f) => `![${alt}](${f})`)
    .join('\n');
}

export interface ReportOptions {
  /** Directory of the result files. */
  dir: string;
  /** A warning shown at the top (e.g. placeholder weights). */
  note?: string;
  cwd: string;
  /** The folder figure links are relative to: the report file's (or the repository root when printed). */
  root: string;
}

export function resultsMarkdown(o: ReportOptions): string {
  const out: string[] = [];
  out.push('## Results');
  out.push('');
  if (o.note) {
    out.push(`> **${o.note}**`);
    out.push('');
  }
  out.push('Every number here comes from a `lockstep bench` command (code in `bench/`): each prints a table, writes its JSON ' +
    '(machine, commit, the models\' fingerprints, every row) to `.bench-results/` and draws its figure into `media/`. ' +
    '`npm run bench` runs all five in turn (options pass through, e.g. `npm run bench -- --threads 1`); ' +
    '`npm run bench -- --quick` is a smoke run (results and figures then go to `.bench-results/quick/`). This section is ' +
    'generated from the result files by `npx lockstep bench report`. Machines are noisy: speeds are medians of same-run ' +
    'ratios against autoregressive decoding, measured interleaved.');
  out.push('');
  out.push('```sh\n' +
    'npm run bench                                   # all five benchmarks in turn (the figures below; hours on 2 cores)\n' +
    'npm run bench -- --quick                        # smoke run, a minute or two\n' +
    'npx lockstep bench coupling --help              # each benchmark alone, with its options (speed, coupling, overhead, invariance, latency)\n' +
    'npx lockstep bench report --write results.md    # this section, from .bench-results/\n' +
    'npx lockstep bench soak                         # typing against the real extension (not in npm run bench; ~18 min on 2 cores)\n' +
    '```');
  out.push('');

  const c = read<CouplingReport>(o.dir, 'coupling');
  out.push('### Coupling quality: Pr[a = b] against total variation');
  out.push('');
  if (c) {
    const prompts = [...new Set(c.completions.map((x) => x.prompt))];
    out.push(`The seed repository's experiment on our models: along completions the target samples on ${prompts.length} held-out ` +
      `prompts (${c.positionsPerCompletion} positions each, T = ${c.temperatures.join(' and ')}), the drafter's and the target's ` +
      'distributions for the same prefix; their total variation distance TV; the agreement Pr[a = b] of Gumbel sampling and ' +
      `of Weighted MinHash measured with the engine's own samplers over ${c.trials.toLocaleString('en-US')} shared-randomness trials ` +
      'per position (seed varies, position fixed), against the closed forms (Gumbel: Σ_i 1/Σ_j max(p_j/p_i, q_j/q_i)), ' +
      '1 − TV (the optimal coupling, i.e. standard speculative sampling\'s acceptance) and (1 − TV)/(1 + TV) (Weighted ' +
      'MinHash\'s guarantee). Means over positions:');
    out.push('');
    out.push(mdTable(
      ['drafter', 'T', 'positions', 'TV', '1 − TV', 'Gumbel measured', 'Gumbel closed form', 'WMH measured', 'WMH closed form', '(1 − TV)/(1 + TV)', 'Gumbel ≥ WMH', '|z| > 3'],
      c.rows.map((x) => [x.drafter, String(x.temperature), String(x.positions), x.meanTv.toFixed(3), x.meanOptimal.toFixed(3),
        x.meanGumbelMeasured.toFixed(3), x.meanGumbelTheory.toFixed(3), x.meanWmhMeasured.toFixed(3), x.meanWmhTheory.toFixed(3),
        x.meanWmhBound.toFixed(3), pct(x.gumbelAtLeastWmh, 0), pct(x.beyond3Sigma)]),
    ));
    out.push('');
    out.push('"Gumbel ≥ WMH": share of positions where the measured Gumbel agreement is at least the measured WMH agreement; ' +
      '|z| > 3: share of (position, coupling) pairs whose measurement is more than three binomial standard errors from its ' +
      'closed form (≈ 0.3 % by chance).');
    out.push('');
    out.push(figureLinks(c.figures, o.cwd, o.root, 'Pr[a = b] per position'));
    out.push('');
    out.push(measuredOn(c));
    out.push('');
    out.push(command(c));
  } else {
    out.push('_Not run yet:_ `npx lockstep bench coupling`');
  }
  out.push('');

  const s = read<BenchReport>(o.dir, 'speed');
  out.push('### Speed: speculative against autoregressive decoding');
  out.push('');
  if (s) {
    out.push(`Decode tokens/s (prefill excluded) on ${s.prompts.length} held-out FIM prompts, ≤ ${s.maxTokens} tokens each (${s.mode} mode), ` +
      'each configuration run interleaved with autoregressive decoding of the target on the same prompt. Speedup: median over ' +
      'prompts of the per-prompt ratio (interquartile range in brackets); α: acceptance; tok/call: tokens per target call; ' +
      'predicted: Leviathan et al. (1 − α^(γ+1)) / ((1 − α)(γc + 1)) with the measured α and cost ratio c; efficiency = ' +
      'measured ÷ predicted (goal ≥ 0.9). At γ = auto (the engine\'s choice per round):');
    out.push('');
    const auto = s.rows.filter((x) => x.drafter !== 'none' && x.gamma === 'auto');
    const rowsFor = auto.length > 0 ? auto : s.rows.filter((x) => x.drafter !== 'none');
    out.push(mdTable(
      ['drafter', 'coupling', 'T', 'γ', 'tokens/s', 'speedup', 'α', 'tok/call', 'calls/completion', 'c', 'predicted', 'efficiency'],
      rowsFor.map((x) => [x.drafter, x.coupling, String(x.temperature), x.gamma === 'auto' ? `auto (${x.effectiveGamma.toFixed(1)})` : String(x.gamma),
        x.tokensPerSecond.toFixed(0), `${x.speedup.toFixed(2)}× [${x.speedupP25.toFixed(2)}–${x.speedupP75.toFixed(2)}]`, pct(x.acceptance, 0),
        x.tokensPerTargetCall.toFixed(2), x.targetCallsPerCompletion.toFixed(1), x.costRatio.toFixed(3), `${x.predictedSpeedup.toFixed(2)}×`, x.efficiency.toFixed(2)]),
    ));
    out.push('');
    const base = s.rows.filter((x) => x.drafter === 'none');
    out.push(`Autoregressive baseline: ${base.map((x) => `${x.coupling} T = ${x.temperature}: ${x.tokensPerSecond.toFixed(0)} tokens/s`).join('; ')}.`);
    const best = new Map<string, (typeof s.rows)[number]>();
    for (const x of s.rows) {
      if (x.drafter === 'none' || x.gamma === 'auto') continue;
      const k = `${x.drafter}|${x.coupling}|${x.temperature}`;
      if (!best.has(k) || best.get(k)!.speedup < x.speedup) best.set(k, x);
    }
    if (best.size > 0) {
      out.push('');
      out.push('Best fixed γ per drafter, coupling and temperature (every γ is in the JSON and the figure):');
      out.push('');
      out.push(mdTable(['drafter', 'coupling', 'T', 'best γ', 'speedup', 'α', 'efficiency'],
        [...best.values()].map((x) => [x.drafter, x.coupling, String(x.temperature), String(x.gamma), `${x.speedup.toFixed(2)}×`, pct(x.acceptance, 0), x.efficiency.toFixed(2)])));
    }
    out.push('');
    out.push(figureLinks(s.figures, o.cwd, o.root, 'speedup against γ'));
    out.push('');
    out.push(measuredOn(s));
    out.push('');
    out.push(command(s));
  } else {
    out.push('_Not run yet:_ `npx lockstep bench`');
  }
  out.push('');

  const h = read<OverheadReport>(o.dir, 'overhead');
  out.push('### Engine overhead');
  out.push('');
  if (h) {
    out.push(`Share of decode wall time outside onnxruntime's \`session.run\` (goal ≤ 5 %), per decode step, over ${h.prompts.length} ` +
      `held-out prompts × ${h.maxTokens} tokens per configuration:`);
    out.push('');
    out.push(mdTable(['configuration', 'ms/step', 'outside run', 'forward() outside run', 'KV rollback', 'sampling & rest', 'GC'],
      h.rows.map((x) => {
        const w = Math.max(1e-12, x.wallSeconds);
        return [x.config, x.msPerStep.toFixed(2), pct(x.outsideRunShare), pct(x.forwardOtherSeconds / w), pct(x.rollbackSeconds / w), pct(x.restSeconds / w), pct(x.gcSeconds / w)];
      })));
    out.push('');
    out.push(`Allocations in the vocabulary-sized loops (V = ${h.vocabSize}; goal: none), JS young-generation growth per call on a real logits row:`);
    out.push('');
    out.push(mdTable(['loop', 'µs/call', 'bytes/call', 'allocation-free'],
      h.allocations.map((a) => [a.loop, a.microsecondsPerCall.toFixed(1), a.bytesPerCall === null ? 'GC in every batch' : a.bytesPerCall.toFixed(0), a.allocationFree ? 'yes' : '**no**'])));
    out.push('');
    out.push(`Peak RSS of the benchmark process (target + drafter loaded): ${h.peakRssMiB.toFixed(0)} MiB.`);
    out.push('');
    out.push(figureLinks(h.figures, o.cwd, o.root, 'time per decode step'));
    out.push('');
    out.push(measuredOn(h));
    out.push('');
    out.push(command(h));
  } else {
    out.push('_Not run yet:_ `npx lockstep bench overhead`');
  }
  out.push('');

  const v = read<InvarianceReport>(o.dir, 'invariance');
  out.push('### Drafter invariance');
  out.push('');
  if (v) {
    out.push(`**${v.identical.toLocaleString('en-US')} of ${v.comparisons.toLocaleString('en-US')}** completions were byte-identical to the ` +
      `no-drafter completion of the same (prompt, seed, coupling, T); **${v.differing}** differed (goal: 0). ${v.caseCount} (prompt, seed) ` +
      `cases × couplings ${v.couplings.join(', ')} × T ∈ {${v.temperatures.join(', ')}} × drafters ${v.drafters.join(', ')} × γ ∈ ` +
      `{${v.gammas.join(', ')}}, ≤ ${v.maxTokens} tokens. The same comparisons with \`lockstep verify\`:`);
    out.push('');
    out.push(`\`\`\`sh\n${v.verifyCommand}\n\`\`\``);
    out.push('');
    out.push(mdTable(['drafter', 'γ', 'identical', 'acceptance'],
      v.rows.map((x) => [x.drafter, String(x.gamma), `${x.identical}/${x.comparisons}`, x.drafted > 0 ? pct(x.acceptance) : '—'])));
    out.push('');
    out.push(figureLinks(v.figures, o.cwd, o.root, 'identical completions per drafter and γ'));
    out.push('');
    out.push(measuredOn(v));
    out.push('');
    out.push(command(v));
  } else {
    out.push('_Not run yet:_ `npx lockstep bench invariance`');
  }
  out.push('');

  const l = read<LatencyReport>(o.dir, 'latency');
  out.push('### Latency');
  out.push('');
  if (l) {
    out.push(`Time from the request to the first token and to the end of a single-line completion (line mode, ${l.coupling}, ` +
      `T = ${l.temperature}, γ = ${l.gamma}) on ${l.prompts.length} held-out prompts, in-process on CPU. cold: empty KV caches; ` +
      'warm: the caches already hold the prompt.');
    out.push('');
    out.push(mdTable(['drafter', 'cache', 'first token p50', 'first token p95', 'full line p50', 'full line p95', 'tokens (p50)'],
      l.rows.map((x) => [x.drafter, x.cache, `${x.firstTokenP50Ms.toFixed(0)} ms`, `${x.firstTokenP95Ms.toFixed(0)} ms`, `${x.lineP50Ms.toFixed(0)} ms`,
        `${x.lineP95Ms.toFixed(0)} ms`, String(x.tokensP50)])));
    out.push('');
    out.push(figureLinks(l.figures, o.cwd, o.root, 'latency'));
    out.push('');
    out.push(measuredOn(l));
    out.push('');
    out.push(command(l));
  } else {
    out.push('_Not run yet:_ `npx lockstep bench latency`');
  }
  out.push('');

  // quality.json: the shipped models; quality-retrained.json: the repository-level fine-tune that was not shipped
  // (tools/make_models.sh --repo-context; bench/results/), kept so the comparison stays reproducible.
  const qs = ([['quality', 'shipped'], ['quality-retrained', 'fine-tuned, not shipped']] as const).flatMap(([name, title]) => {
    const r = read<QualityReport>(o.dir, name);
    return r ? [{ r, title }] : [];
  });
  out.push('### Completion quality with and without cross-file context');
  out.push('');
  if (qs.length > 0) {
    const r0 = qs[0].r;
    out.push(`Exact match, edit similarity and identifier F1 (CrossCodeEval's metrics) of line and block completions in the held-out ` +
      `package${r0.packages.length === 1 ? '' : 's'} ${r0.packages.join(', ')} (${r0.tasks.length} tasks, ` +
      `${r0.tasks.filter((t) => t.selection === 'cross-file').length} at lines using a name imported from another file of the package), ` +
      `without context (the plain FIM prompt) and with the snippets the extension sends. T = 0: one greedy run; ` +
      `T = ${r0.temperature}: mean over seeds ${r0.seeds.join(', ')} ± the standard deviation between seeds.`);
    out.push('');
    const f = (x: number) => (100 * x).toFixed(1);
    const rows = qs.flatMap(({ r, title }) => r.rows
      .filter((x) => (x.temperature === 0 && x.group !== 'line random' && x.group !== 'block random') || x.group === 'all')
      .map((x) => [title, x.arm, x.group, String(x.temperature), String(x.tasks),
        ...(['exactMatch', 'editSimilarity', 'identifierF1'] as const).map((k) => (x.seeds > 1 ? `${f(x[k])} ± ${f(x[`${k}SeedSd`])}` : f(x[k])))]));
    out.push(mdTable(['models', 'arm', 'group', 'T', 'tasks', 'exact match %', 'edit similarity %', 'identifier F1 %'], rows, ['l', 'l', 'l', 'r', 'r', 'r', 'r', 'r']));
    out.push('');
    for (const { r } of qs) out.push(figureLinks(r.figures, o.cwd, o.root, 'quality'));
    out.push('');
    for (const { r, title } of qs) {
      out.push(`${title}: ${measuredOn(r)}`);
      out.push('');
      out.push(command(r));
      out.push('');
    }
  } else {
    out.push('_Not run yet:_ `npx lockstep bench quality`');
  }
  out.push('');

  // Not part of `bench all`: soak.json is the latest `bench soak`, soak-before.json the run kept from before the
  // engine moved to a child process with a latest-wins queue (bench/results/).
  const runs = ([['soak-before', 'Before the engine rewrite (worker thread, FIFO queue)'], ['soak', 'Latest run']] as const)
    .flatMap(([name, title]) => {
      const r = read<SoakReport>(o.dir, name);
      return r ? [{ r, title }] : [];
    });
  out.push('### Soak: typing against the real extension');
  out.push('');
  if (runs.length > 0) {
    const r0 = runs[0].r;
    out.push(`The extension (\`${r0.extension}\`) activated against the stand-in \`vscode\` module with the shipped models ` +
      `(device ${r0.device}, ${r0.machine.threads === 0 ? 'onnxruntime default threads' : `${r0.machine.threads} thread${r0.machine.threads === 1 ? '' : 's'} per model`}) while a typist retypes a held-out file one character every ` +
      `${r0.intervalMs} ± ${r0.jitterMs} ms (+${r0.linePauseMs} ms after a newline): each keystroke cancels the previous request's ` +
      'token and asks for an inline completion without waiting for the previous one, at `debounceMs` 0 and the default 150, ' +
      'with and without a CPU hog (one busy process per CPU). Measured around the engine host\'s `complete`: queue max = most ' +
      'requests waiting behind the running one; cancelled before start = came back cancelled with no model call; prefill only ' +
      '= cancelled after its prefill ran, before any token; p50/p95 of completed requests from the keystroke; last keystroke = ' +
      `until the provider returned (never: not within ${r0.waitSeconds} s); drained = until, besides, nothing was outstanding. ` +
      'RSS and heap of the extension host process after a forced GC, sampled every second (an engine in a child process is ' +
      'in "engine RSS"); engine processes = child processes (and worker threads) still alive after `deactivate()`. Times ' +
      'depend on the machine; the tests assert only the invariants (the last completion arrives, the queue holds at most one ' +
      'waiting request, no request fails, the engine runs in a child process and none is left).');
    out.push('');
    for (const { r, title } of runs) {
      out.push(`**${title}:**`);
      out.push('');
      out.push(soakMarkdownTable(r, mdTable));
      out.push('');
      out.push(measuredOn(r));
      out.push('');
      out.push(command(r));
      out.push('');
    }
  } else {
    out.push('_Not run yet:_ `npx lockstep bench soak` (not part of `npm run bench`)');
  }
  out.push('');
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}
