/** The end of the run on stdout: the summary (PASS/FAIL per session, latency figures, the suite's failures) and log tails. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ARTIFACTS, ROOT, t0, tail } from './common';
import { latencyReport } from './latency';
import type { SuiteResult } from './suite';
import type { UiResult } from './ui';

/** The summary's text, and whether a session failed. */
export function summary(
  codeServerVersion: string, browserVersion: string, suite: SuiteResult | undefined, ui: UiResult | undefined, firstRun?: UiResult,
): { text: string; failed: boolean } {
  const lines: string[] = ['', '=== Lockstep e2e (code-server ' + codeServerVersion + ', ' + browserVersion + ') ==='];
  if (suite) lines.push(`suite   ${suite.ok ? 'PASS' : 'FAIL'}  ${suite.passing ?? 0} passing, ${suite.failing ?? 0} failing  (${suite.seconds.toFixed(0)} s)`);
  if (ui) {
    const passed = ui.checks.filter((c) => c.ok).length;
    lines.push(`ui      ${ui.ok ? 'PASS' : 'FAIL'}  ${passed} of ${ui.checks.length} checks  (${ui.seconds.toFixed(0)} s)`);
    for (const c of ui.checks.filter((x) => !x.ok)) lines.push(`  FAIL ${c.name}: ${c.detail}`);
    if (ui.latency) lines.push(...latencyReport(ui.latency));
  }
  if (firstRun) {
    const passed = firstRun.checks.filter((c) => c.ok).length;
    lines.push(`firstrun ${firstRun.ok ? 'PASS' : 'FAIL'}  ${passed} of ${firstRun.checks.length} checks  (${firstRun.seconds.toFixed(0)} s)`);
    for (const c of firstRun.checks.filter((x) => !x.ok)) lines.push(`  FAIL ${c.name}: ${c.detail}`);
  }
  lines.push(`total ${((Date.now() - t0) / 1000).toFixed(0)} s; artifacts in ${path.relative(ROOT, ARTIFACTS)}/`);
  const failed = Boolean((suite && !suite.ok) || (ui && !ui.ok) || (firstRun && !firstRun.ok));
  if (suite && !suite.ok) {
    const idx = suite.output.search(/\d+ failing/);
    lines.push('', '--- suite failures (mocha) ---', idx >= 0 ? suite.output.slice(idx) : suite.output.split('\n').slice(-60).join('\n'));
  }
  return { text: lines.join('\n') + '\n', failed };
}

/** After a failure: the end of each Lockstep log copied to out/e2e/. */
export function printLogTails(): void {
  for (const f of fs.readdirSync(ARTIFACTS).filter((x) => x.startsWith('lockstep-') && x.endsWith('.log'))) {
    process.stdout.write(`\n--- tail of out/e2e/${f} ---\n${tail(path.join(ARTIFACTS, f), 40)}\n`);
  }
}
