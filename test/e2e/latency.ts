/**
 * Keystroke → ghost text shown, over ≥ 30 triggers in sample.js (printed, never asserted): the loop, its figures
 * (p50 / p95, completions/s, the engine's tokens/s), out/e2e/latency.json, and the summary lines.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { ARTIFACTS, LIMITS, log } from './common';
import { typeAndWaitForGhost, type Trigger } from './ghost';
import type { Host, HostRecord } from './hostClient';
import { SAMPLE_JS, TRIGGER_PREFIXES, TRIGGER_SITES } from './workspace';

export interface LatencySummary {
  n: number; p50: number; p95: number; min: number; max: number; mean: number; empty: number; timedOut: number;
  /** Shown completions per second of keystroke → ghost text time (triggers back to back). */
  completionsPerSecond: number;
  /** Completions per second of the engine's own generation time. */
  engineCompletionsPerSecond: number;
  engineTokensPerSecond: number;
  loopSeconds: number;
}

export interface LatencyRun {
  latency: LatencySummary;
  /** Triggers measured (the warm-up left out), and of those the ones that showed ghost text. */
  triggers: number;
  shown: number;
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

/**
 * Runs the loop in sample.js (the editor's file `sampleFile`); `onShown` is called while ghost text is on screen
 * (the UI session keeps the best screenshot).
 */
export async function measureLatency(page: Page, h: Host, sampleFile: string, onShown: () => Promise<void>): Promise<LatencyRun> {
  const n = Math.max(1, Number(process.env.LOCKSTEP_E2E_TRIGGERS || 32));
  const results: Trigger[] = [];
  const loopStart = Date.now();
  await h.call('open', { path: sampleFile, line: 0, character: 0 });
  // Until n triggers showed ghost text (empty completions show nothing and do not count), within bounds.
  const countShown = (): number => results.filter((r) => r.shown).length;
  for (let i = 0; i <= 3 * n && countShown() < n && Date.now() - loopStart < LIMITS.loopMs; i++) {
    // A fresh line after one of the sites, a prefix typed; then back to the file as on disk.
    const site = TRIGGER_SITES[i % TRIGGER_SITES.length];
    const combos = TRIGGER_SITES.length * TRIGGER_PREFIXES.length;
    const prefix = TRIGGER_PREFIXES[(i + Math.floor(i / combos)) % TRIGGER_PREFIXES.length];
    await h.call('command', { id: 'workbench.action.files.revert' });
    await h.call('clearCache');
    const lineText = SAMPLE_JS.split('\n')[site];
    await h.call('open', { path: sampleFile, line: site, character: lineText.length });
    await page.keyboard.press('Enter');
    const t = await typeAndWaitForGhost(page, h, prefix, site + 1);
    if (i === 0) {
      log(`ui: warm-up trigger: ${t.shown ? `${t.latencyMs?.toFixed(0)} ms` : 'empty completion'}`);
    } else {
      results.push(t);
    }
    if (t.shown) await onShown();
    await page.keyboard.press('Escape');
  }
  await h.call('command', { id: 'workbench.action.files.revert' });
  const loopSeconds = (Date.now() - loopStart) / 1000;
  const shown = results.filter((r) => r.shown);
  const lat = shown.map((r) => r.latencyMs ?? 0).sort((a, b) => a - b);
  const engineRuns = shown.map((r) => r.record?.result).filter((r): r is NonNullable<HostRecord['result']> => r !== undefined);
  const tps = engineRuns.map((r) => r.tokensPerSecond).filter((x) => x > 0).sort((a, b) => a - b);
  const latency: LatencySummary = {
    n: lat.length,
    p50: percentile(lat, 0.5),
    p95: percentile(lat, 0.95),
    min: lat[0],
    max: lat[lat.length - 1],
    mean: lat.reduce((a, b) => a + b, 0) / Math.max(1, lat.length),
    empty: results.filter((r) => r.empty).length,
    timedOut: results.filter((r) => r.timedOut).length,
    completionsPerSecond: lat.length / Math.max(1e-9, lat.reduce((a, b) => a + b, 0) / 1000),
    engineCompletionsPerSecond: engineRuns.length / Math.max(1e-9, engineRuns.reduce((a, r) => a + r.seconds, 0)),
    engineTokensPerSecond: percentile(tps, 0.5),
    loopSeconds,
  };
  fs.writeFileSync(path.join(ARTIFACTS, 'latency.json'), JSON.stringify({ latency, triggers: results.map((r) => ({ ...r, record: r.record && { ...r.record, fullText: undefined } })) }, null, 2));
  return { latency, triggers: results.length, shown: shown.length };
}

/** The summary's latency lines. */
export function latencyReport(l: LatencySummary): string[] {
  return [
    `latency keystroke → ghost text shown: p50 ${l.p50.toFixed(0)} ms, p95 ${l.p95.toFixed(0)} ms (n = ${l.n}; min ${l.min?.toFixed(0)}, mean ${l.mean.toFixed(0)}, max ${l.max?.toFixed(0)} ms; ${l.empty} empty, ${l.timedOut} timed out)`,
    `completions/s: ${l.completionsPerSecond.toFixed(2)} keystroke → shown (back to back); ${l.engineCompletionsPerSecond.toFixed(2)} of engine time; engine median ${l.engineTokensPerSecond.toFixed(1)} tokens/s`,
  ];
}
