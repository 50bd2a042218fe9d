/**
 * Ghost text in the page: the DOM scripts that find it and time it (keydown → first ghost text, measured in the
 * page), and one trigger — type at the cursor, wait for ghost text or an empty completion.
 */
import type { Page } from 'playwright-core';
import { LIMITS, log, sleep, waitUntil } from './common';
import type { Host, HostRecord } from './hostClient';

/** Ghost text of an inline completion in VS Code's DOM (the part on the cursor line, and the lines below it). */
export const GHOST_SELECTOR = '.monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text-decoration-preview, .monaco-editor .ghost-text';

/** Arms a probe in the page: the time of the next keydown, and the first moment ghost text is in the DOM after it. */
const ARM_PROBE = `(() => {
  const sel = ${JSON.stringify(GHOST_SELECTOR)};
  const old = window.__lockstepProbe;
  if (old && old.observer) old.observer.disconnect();
  const p = { keyAt: 0, shownAt: 0, observer: null };
  const check = () => {
    if (p.keyAt && !p.shownAt && document.querySelector(sel)) {
      p.shownAt = performance.now();
      p.observer.disconnect();
    }
  };
  p.observer = new MutationObserver(check);
  p.observer.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
  window.addEventListener('keydown', () => { if (!p.keyAt) p.keyAt = performance.now(); }, { capture: true, once: true });
  window.__lockstepProbe = p;
})()`;
const READ_PROBE = `(() => { const p = window.__lockstepProbe; return p ? { keyAt: p.keyAt, shownAt: p.shownAt } : null; })()`;
export const GHOST_PRESENT = `!!document.querySelector(${JSON.stringify(GHOST_SELECTOR)})`;
/**
 * All ghost text on screen in reading order (the part on the cursor line, then the lines below it), whitespace
 * removed: the DOM renders spaces as non-breaking ones and leaves out empty lines.
 */
export const GHOST_TEXT = `(() => {
  const sel = ${JSON.stringify(GHOST_SELECTOR)};
  const leaves = Array.from(document.querySelectorAll(sel)).filter((e) => !e.querySelector(sel));
  const at = (e) => e.getBoundingClientRect();
  leaves.sort((a, b) => (at(a).top - at(b).top) || (at(a).left - at(b).left));
  return leaves.map((e) => e.textContent).join('').replace(/\\s|\\u00a0/g, '');
})()`;
export const noSpace = (t: string): string => t.replace(/\s|\u00a0/g, '');

export interface Trigger {
  shown: boolean;
  empty: boolean;
  /** Neither ghost text nor a completion record within LIMITS.ghostMs. */
  timedOut?: boolean;
  /** The editor did not ask for inline completions after the keystroke; an explicit trigger did. */
  nudged?: boolean;
  latencyMs?: number;
  wallMs: number;
  record?: HostRecord;
}

/**
 * Types `text` at the cursor (all but the last character, then the last one with the probe armed) and waits until
 * ghost text is shown, or the extension reports an empty completion at the resulting cursor. The latency is keydown →
 * ghost text in the DOM, measured in the page.
 */
export async function typeAndWaitForGhost(page: Page, host: Host, text: string, line: number, nudgeAfterMs = Infinity): Promise<Trigger> {
  const before = await host.lastSequence();
  // The extension host learns of keystrokes asynchronously: wait until it has the cursor on `line`.
  const cursor = await waitUntil(`the cursor on line ${line + 1}`, 30_000, async () => {
    const c = await host.call<{ line: number; character: number }>('editor');
    return c.line === line ? c : undefined;
  }, 25);
  const character = cursor.character + text.length;
  // All but the last character in one input event (as a paste or an IME commit would), the last one as a key press.
  if (text.length > 1) await page.keyboard.insertText(text.slice(0, -1));
  // Nothing from an earlier keystroke may be on screen when the measured keystroke goes in.
  for (let i = 0; i < 20 && (await page.evaluate(GHOST_PRESENT)); i++) {
    await page.keyboard.press('Escape');
    await sleep(50);
  }
  await page.evaluate(ARM_PROBE);
  const start = Date.now();
  await page.keyboard.type(text.slice(-1));
  let empty = false;
  let nudged = false;
  let lastHostCheck = 0;
  const mine = (r: HostRecord): boolean => r.line === line && r.character === character && !r.fromCache;
  const probe = await waitUntil(`ghost text after typing ${JSON.stringify(text)}`, LIMITS.ghostMs, async (): Promise<{ keyAt: number; shownAt: number } | undefined> => {
    const p = (await page.evaluate(READ_PROBE)) as { keyAt: number; shownAt: number } | null;
    if (p && p.shownAt > 0) return p;
    if (Date.now() - lastHostCheck > 200) {
      lastHostCheck = Date.now();
      // An empty completion shows nothing: the provider's record for this cursor says so.
      const r = await host.call<{ records: HostRecord[]; requests: unknown[] }>('records', { since: before, requestsSince: start });
      const last = r.records.filter(mine).pop();
      if (last && last.text === '' && last.result && !(await page.evaluate(GHOST_PRESENT))) {
        empty = true;
        return { keyAt: 0, shownAt: 0 };
      }
      // Rarely the editor does not ask for inline completions after the keystroke at all (seen on the first editor
      // of a session): where the caller allows it, ask explicitly, as the user would with Alt+\\.
      if (!nudged && r.requests.length === 0 && Date.now() - start > nudgeAfterMs) {
        nudged = true;
        log(`ui: no inline completion request ${Math.round((Date.now() - start) / 1000)} s after typing ${JSON.stringify(text)}: triggering explicitly`);
        await host.call('command', { id: 'editor.action.inlineSuggest.trigger' });
      }
    }
    return undefined;
  }, 20).catch(async (e: Error) => {
    // What the editor asked for and what the extension produced meanwhile, for the log.
    const r = await host.call<{ requests: { line: number; character: number; triggerKind: number }[]; records: HostRecord[] }>('records', { since: before, requestsSince: start }).catch(() => undefined);
    const asked = r ? r.requests.map((q) => `${q.line + 1}:${q.character + 1}${q.triggerKind === 0 ? ' (explicit)' : ''}`).join(' ') : '?';
    const made = r ? r.records.map((q) => `${q.line + 1}:${q.character + 1}=${JSON.stringify(q.text.slice(0, 20))}`).join(' ') : '?';
    log(`ui: ${e.message}; inline completion requests since the keystroke: [${asked}]; completions: [${made}]`);
    return undefined;
  });
  if (probe === undefined) return { shown: false, empty: false, timedOut: true, wallMs: Date.now() - start };
  const wallMs = Date.now() - start;
  // The record of the completion on screen: the newest one generated for this cursor.
  const record = await waitUntil('the completion record', 10_000, async () => (await host.records(before)).filter(mine).pop(), 50)
    .catch(() => undefined);
  if (empty) return { shown: false, empty: true, wallMs, record, nudged };
  return { shown: true, empty: false, latencyMs: probe.shownAt - probe.keyAt, wallMs, record, nudged };
}
