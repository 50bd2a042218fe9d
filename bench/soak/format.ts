/** The soak benchmark's table for the terminal and for bench/RESULTS.md. */
import { headLines, table } from '../common';
import type { Series, SoakReport } from './types';

const ms = (x: number | null) => (x === null ? 'never' : x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)} ms`);

export function formatSoak(r: SoakReport): string {
  const lines = [headLines(r).trimEnd()];
  lines.push(`extension ${r.extension} against the stand-in vscode module; device ${r.device}; keystrokes every ${r.intervalMs} ± ${r.jitterMs} ms, ` +
    `+${r.linePauseMs} ms after a newline; last completion awaited ≤ ${r.waitSeconds} s; ${r.seconds.toFixed(0)} s`);
  lines.push('');
  lines.push(table(
    ['scenario', 'requests', 'queue max', 'cancelled before start', 'prefill only', 'cancelled', 'completed', 'p50', 'p95', 'last keystroke', 'drained',
      'RSS MiB min/max/last', 'heap MiB min/max/last', 'engine procs at end'],
    r.rows.map((x) => [x.scenario, String(x.requests), String(x.queueMax), String(x.cancelledBeforeStart), String(x.cancelledPrefillOnly),
      String(x.cancelled), String(x.completed), ms(x.p50Ms), ms(x.p95Ms), `${ms(x.lastKeystrokeMs)}${x.lastFromCache ? ' (cache)' : ''}`, ms(x.drainMs),
      `${x.rssMiB.min.toFixed(0)}/${x.rssMiB.max.toFixed(0)}/${x.rssMiB.last.toFixed(0)}`,
      `${x.heapMiB.min.toFixed(1)}/${x.heapMiB.max.toFixed(1)}/${x.heapMiB.last.toFixed(1)}`,
      `${x.engineProcessesAtEnd}${x.workerThreadsAtEnd > 0 ? ` (+${x.workerThreadsAtEnd} workers)` : ''}`]),
  ));
  lines.push('');
  lines.push('scenario: keystrokes-d<debounceMs>[-hog: one busy process per CPU]. queue max: most requests waiting behind the running one; ' +
    'cancelled before start: cancelled with no model call; prefill only: cancelled after its prefill, before any token; ' +
    'p50/p95: completed requests, from the keystroke to the result; last keystroke: until the provider returned ' +
    '((cache): typing along an earlier suggestion); drained: until, in addition, no engine request was outstanding. ' +
    'RSS/heap: this process (the extension host), sampled every second after a forced GC.');
  const problems = r.rows.flatMap((x) => x.logProblems.map((p) => `${x.scenario}: ${p}`));
  if (problems.length > 0) lines.push('', 'logged warnings/errors:', ...problems.slice(0, 10).map((p) => `  ${p}`));
  return `${lines.join('\n')}\n`;
}

/** The Markdown table of a soak report (`md` is the report's Markdown table helper). */
export function soakMarkdownTable(r: SoakReport, md: (header: string[], rows: string[][]) => string): string {
  const mib = (x: Series, digits = 0) => `${x.max.toFixed(digits)} / ${x.last.toFixed(digits)}`;
  return md(
    ['keystrokes', 'debounce', 'hog', 'requests', 'queue max', 'cancelled before start', 'prefill only', 'cancelled', 'completed',
      'p50', 'p95', 'last keystroke', 'drained', 'RSS MiB max / last', 'heap MiB max / last', 'engine RSS MiB max', 'engine processes at end'],
    r.rows.map((x) => [String(x.keystrokes), `${x.debounceMs} ms`, x.hog ? `${x.hogProcesses} busy` : 'no', String(x.requests),
      String(x.queueMax), String(x.cancelledBeforeStart), String(x.cancelledPrefillOnly), String(x.cancelled), String(x.completed),
      ms(x.p50Ms), ms(x.p95Ms), `${ms(x.lastKeystrokeMs)}${x.lastFromCache ? ' (cache)' : ''}`, ms(x.drainMs), mib(x.rssMiB), mib(x.heapMiB, 1),
      x.engineRssMiB.max.toFixed(0), `${x.engineProcessesAtEnd}${x.workerThreadsAtEnd > 0 ? ` + ${x.workerThreadsAtEnd} worker threads` : ''}`]),
  );
}
