/**
 * The exactness probe's table for each ONNX variant of a model folder: rows bitwise equal to one prefill, per
 * candidate call rule and grouping (every rule is run, not only until one is exact, and nothing is cached), and the
 * verdict the engine would take. On a 0.5B model each rule costs ~45 calls: minutes on 2 cores.
 *   npx tsc -p . && node out/bench/exactness.js --target DIR [--variants fp32,q4,…] [--rules min2,aligned4] [--threads N]
 */
import { CALL_RULES } from '../src/engine/device';
import { CANDIDATE_RULES, PROBE_GROUPINGS, RuleResult, probeExactness } from '../src/engine/exactness';
import { CausalLM, ORT_VERSION } from '../src/engine/model';
import { onnxFilesIn, variantOfFile } from '../src/engine/modelDir';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const dir = option('target');
  if (dir === undefined) throw new Error('usage: node out/bench/exactness.js --target DIR [--variants fp32,q4] [--threads N]');
  const threads = Number(option('threads') ?? '1');
  const variants = option('variants')?.split(',') ?? onnxFilesIn(dir).map(variantOfFile);
  console.log(`${dir}: onnxruntime ${ORT_VERSION}, cpu, ${threads} thread${threads === 1 ? '' : 's'}; rows equal / rows per grouping (calls of 1..n tokens, negative = rollback)`);
  const head = ['variant', 'rule', ...PROBE_GROUPINGS.map((g) => (g.length === 9 ? '16,1×8' : g.join(','))), 'exact', 's'];
  console.log(`| ${head.join(' | ')} |`);
  console.log(`|${head.map(() => '---').join('|')}|`);
  for (const variant of variants) {
    const model = await CausalLM.load(dir, { variant, threads, device: 'cpu' });
    const results: RuleResult[] = [];
    const only = option('rules')?.split(',');
    for (const rule of CANDIDATE_RULES.filter((r) => only === undefined || only.includes(r.id))) {
      const t0 = performance.now();
      const v = await probeExactness(model, { variant, device: 'cpu', threads, ortVersion: ORT_VERSION }, CALL_RULES.cpu, [rule], true);
      results.push(v.results[0]);
      const r = v.results[0];
      const cells = r.groupings.map((g) => `${g.equal}/${g.rows}`);
      console.log(`| ${variant} | ${rule.id} | ${cells.join(' | ')} | ${r.exact ? 'yes' : 'no'} | ${((performance.now() - t0) / 1000).toFixed(1)} |`);
    }
    const chosen = results.find((r) => r.exact);
    console.log(`| ${variant} | verdict: ${chosen ? `exact with ${chosen.rule}` : 'not exact: drafting off'} |`);
    await model.dispose();
  }
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
