/**
 * Partial accept in the real editor: with ghost text shown, Ctrl+Right (VS Code's
 * acceptNextWord) inserts only the first word and the rest stays shown (a completion that starts with a line break
 * takes one Ctrl+Right for it first, as VS Code counts whitespace as a step); a request at the new cursor is served
 * from the provider's cache (no new generation); Shift+Tab (acceptNextLine, bound by the extension) inserts the rest
 * through its first line break (all of it when it has none) instead of outdenting. The first seed whose completion
 * has two words or more is used.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { log, sleep, waitUntil } from './common';
import { GHOST_TEXT, noSpace, typeAndWaitForGhost } from './ghost';
import type { Host, HostRecord } from './hostClient';
import { ACCEPT_AT, ACCEPT_JS } from './workspace';

type Check = (name: string, ok: boolean, detail: string) => void;

/** The text inserted at the cursor: `now` is `base` with something put in at offset `at` (undefined if not). */
function insertedAt(base: string, now: string, at: number): string | undefined {
  const tail = base.length - at;
  if (now.length < base.length || !now.startsWith(base.slice(0, at)) || !now.endsWith(base.slice(at))) return undefined;
  return now.slice(at, now.length - tail);
}

export async function runPartialAcceptCheck(page: Page, h: Host, ws: string, check: Check): Promise<void> {
  const typedLine = ACCEPT_JS.split('\n')[ACCEPT_AT.line].slice(0, ACCEPT_AT.character) + ACCEPT_AT.type;
  const base = ACCEPT_JS.split('\n').map((l, i) => (i === ACCEPT_AT.line ? typedLine + l.slice(ACCEPT_AT.character) : l)).join('\n');
  const cursorOffset = ACCEPT_JS.split('\n').slice(0, ACCEPT_AT.line).join('\n').length + 1 + typedLine.length;
  const editorText = async (): Promise<string> => (await h.call<{ text: string }>('editor')).text;
  const generated = async (): Promise<number> => (await h.call<{ generated: number }>('records', { since: 0 })).generated;
  /** Ghost text for `seed` in a fresh file (its record; undefined when nothing or an empty completion was shown). */
  const ghostFor = async (seed: number, name: string): Promise<HostRecord | undefined> => {
    await h.call('setSetting', { key: 'seed', value: seed });
    await h.call('closeAll');
    const file = path.join(ws, `${name}.js`);
    fs.writeFileSync(file, ACCEPT_JS);
    await h.call('clearCache');
    await h.call('open', { path: file, line: ACCEPT_AT.line, character: ACCEPT_AT.character });
    await page.locator('.monaco-editor.focused').first().waitFor({ timeout: 30_000 });
    const t = await typeAndWaitForGhost(page, h, ACCEPT_AT.type, ACCEPT_AT.line, 20_000);
    log(`ui: partial accept: seed ${seed}: ${t.shown ? JSON.stringify(t.record?.text.slice(0, 60)) : t.empty ? 'empty' : 'nothing shown'}`);
    await sleep(300);
    return t.shown ? t.record : undefined;
  };
  try {
    let chosen: HostRecord | undefined;
    const seeds = [0, 1, 2, 3, 4, 5];
    for (const seed of seeds) {
      const r = await ghostFor(seed, `partial-${seed}`);
      if (!r || r.text.trim().split(/\s+/).length < 2) continue;
      chosen = r;
      break;
    }
    if (!chosen) {
      check('partial accept: a completion of two words or more', false, `none for seeds ${seeds.join(', ')}`);
      return;
    }
    const full = chosen.text;
    const shown = (await page.evaluate(GHOST_TEXT)) as string;
    const generatedBefore = await generated();
    const seqBefore = await h.lastSequence();

    // -- accept word: Ctrl+Right inserts the first word; the rest stays shown --------------------------------------
    let word: string | undefined;
    for (let presses = 0; presses < 3 && (word === undefined || word.trim() === ''); presses++) {
      const had = word?.length ?? 0;
      await page.keyboard.press('Control+ArrowRight');
      word = await waitUntil('the next word in the editor', 15_000, async () => {
        const p = insertedAt(base, await editorText(), cursorOffset);
        return p !== undefined && p.length > had ? p : undefined;
      }, 50).catch(() => undefined);
    }
    const wordOk = word !== undefined && word.length < full.length && full.startsWith(word) && /^\s*\S+\s*$/.test(word);
    check('accept word (Ctrl+Right) inserts only the first word', wordOk,
      `ghost ${JSON.stringify(full.slice(0, 40))} (shown ${JSON.stringify(shown.slice(0, 30))}); inserted ${JSON.stringify(word)}`);
    if (!wordOk || word === undefined) return;
    const rest = full.slice(word.length);
    const restShown = await waitUntil('the rest of the ghost text', 10_000, async () => {
      const g = (await page.evaluate(GHOST_TEXT)) as string;
      return g === noSpace(rest) ? g : undefined;
    }, 50).then(() => true, () => false);
    check('after accept word the rest of the ghost text stays shown', restShown,
      restShown ? JSON.stringify(rest.slice(0, 40)) : `shown ${JSON.stringify(((await page.evaluate(GHOST_TEXT)) as string).slice(0, 40))}, expected ${JSON.stringify(noSpace(rest).slice(0, 40))}`);

    // -- the next request at the new cursor is served from the cache -------------------------------------------------
    const at = await h.call<{ line: number; character: number }>('editor');
    await h.call('command', { id: 'editor.action.inlineSuggest.trigger' });
    const served = await waitUntil('a completion record at the new cursor', 15_000, async () =>
      (await h.records(seqBefore)).filter((r) => r.line === at.line && r.character === at.character).pop(), 50)
      .catch(() => undefined);
    const generatedAfterWord = await generated();
    check('the request after accept word hits the cache (no new generation)',
      served !== undefined && served.fromCache && served.text === rest && generatedAfterWord === generatedBefore,
      served === undefined ? 'the provider was not asked' : `fromCache ${served.fromCache}, ${JSON.stringify(served.text.slice(0, 30))}; generated ${generatedBefore} → ${generatedAfterWord}`);

    // -- accept line: Shift+Tab inserts the rest of the first line (through its newline) ----------------------------
    const nl = rest.indexOf('\n');
    const line = nl < 0 ? rest : rest.slice(0, nl + 1);
    await page.keyboard.press('Shift+Tab');
    const lineInserted = await waitUntil('the first line in the editor', 15_000, async () => {
      const p = insertedAt(base, await editorText(), cursorOffset);
      return p !== undefined && p.length > word.length ? p : undefined;
    }, 50).catch(() => undefined);
    check('accept line (Shift+Tab) inserts the rest of the line, not an outdent', lineInserted === word + line,
      `inserted ${JSON.stringify(lineInserted?.slice(word.length))}, expected ${JSON.stringify(line)}${nl < 0 ? ' (the rest is one line)' : ''}`);
    await sleep(1_000); // any request the editor makes at the new cursor
    const generatedAfterLine = await generated();
    check('no new generation after accept line', generatedAfterLine === generatedBefore, `generated ${generatedBefore} → ${generatedAfterLine}`);

    // -- accept line on a fresh completion with a line break before more text: only through the line break ---------
    const firstBreak = full.indexOf('\n');
    if (firstBreak < 0 || full.slice(firstBreak + 1).trim() === '') {
      log('ui: partial accept: the completion has no second line with text; accept line through a line break not checked');
      return;
    }
    const again = await ghostFor(chosen.seed, 'partial-line');
    if (!again || again.text !== full) {
      check('accept line: the same completion again', false, JSON.stringify(again?.text.slice(0, 40)));
      return;
    }
    const lineBefore = await generated();
    await page.keyboard.press('Shift+Tab');
    const first = await waitUntil('the first line in the editor', 15_000, async () => {
      const p = insertedAt(base, await editorText(), cursorOffset);
      return p !== undefined && p.length > 0 ? p : undefined;
    }, 50).catch(() => undefined);
    const after = full.slice(firstBreak + 1);
    const afterShown = await waitUntil('the lines after it as ghost text', 10_000, async () =>
      ((await page.evaluate(GHOST_TEXT)) as string) === noSpace(after) ? true : undefined, 50).then(() => true, () => false);
    check('accept line (Shift+Tab) inserts through the first line break; the next lines stay shown',
      first === full.slice(0, firstBreak + 1) && afterShown && (await generated()) === lineBefore,
      `inserted ${JSON.stringify(first)} of ${JSON.stringify(full.slice(0, 40))}; rest shown: ${afterShown}`);
  } finally {
    await h.call('setSetting', { key: 'seed', value: 0 });
    await h.call('closeAll');
  }
}
