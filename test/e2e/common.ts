/**
 * What every part of the e2e runner shares: the repository and artifact paths, the time limits, the log line, and
 * waiting for a condition (readiness is waited for, never slept).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const ARTIFACTS = path.join(ROOT, 'out', 'e2e');

export const LIMITS = {
  healthzMs: 90_000,
  pageLoadMs: 120_000,
  /** From page load to the in-host partner's control server (activation included). */
  hostMs: 180_000,
  engineMs: 240_000,
  /** The whole shared suite (it verifies invariance over every drafter and coupling). */
  suiteMs: 20 * 60_000,
  /** One keystroke → ghost text (or an empty completion). */
  ghostMs: 120_000,
  /** The latency loop stops early (reporting what it measured) after this long. */
  loopMs: 12 * 60_000,
  exitMs: 60_000,
};

export const t0 = Date.now();
export function log(message: string): void {
  const s = ((Date.now() - t0) / 1000).toFixed(1).padStart(6);
  process.stdout.write(`[e2e ${s}s] ${message}\n`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class E2EError extends Error {}

export async function waitUntil<T>(what: string, timeoutMs: number, f: () => Promise<T | undefined | false> | T | undefined | false, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > end) {
      throw new E2EError(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
    }
    await sleep(everyMs);
  }
}

export function tail(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return `(no ${file})`;
  }
}
