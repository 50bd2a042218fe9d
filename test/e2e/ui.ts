/**
 * Session 2, ui: real keystrokes in the browser, with test/e2e/host.ts as the in-host partner. Readiness (the
 * extension activated, the engine loaded, the editor asks for inline completions), then: typing shows ghost text that
 * is exactly the generated completion, Tab inserts it and Ctrl+S saves exactly it; the same keystrokes with other
 * drafters save byte-identical files; partial accept (a word, a line) keeps the rest and hits the cache; then the
 * latency loop. Keeps the screenshot with the most ghost text.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { closeSession, openSession, type Session } from './browser';
import { lockstepLogs, type CodeServer } from './codeServer';
import { ARTIFACTS, E2EError, LIMITS, ROOT, log, sleep, waitUntil } from './common';
import { GHOST_SELECTOR, GHOST_TEXT, noSpace, typeAndWaitForGhost } from './ghost';
import { Host, type HostRecord } from './hostClient';
import { measureLatency, type LatencySummary } from './latency';
import { runContextCheck } from './contextCheck';
import { runPartialAcceptCheck } from './partialAccept';
import { ACCEPT_AT, ACCEPT_JS, SAMPLE_JS } from './workspace';

export interface UiCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface UiResult {
  ok: boolean;
  seconds: number;
  checks: UiCheck[];
  latency?: LatencySummary;
  screenshot?: string;
}

export async function runUi(browser: Browser, server: CodeServer): Promise<UiResult> {
  const start = Date.now();
  const checks: UiCheck[] = [];
  const check = (name: string, ok: boolean, detail: string): void => {
    checks.push({ name, ok, detail });
    log(`ui: ${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
  };
  const ws = server.dirs.workspace;
  const sampleFile = path.join(ws, 'sample.js');
  fs.writeFileSync(sampleFile, SAMPLE_JS);
  const hostFile = path.join(server.dirs.control, 'host.json');
  fs.rmSync(hostFile, { force: true });
  log('ui: keystrokes in the browser, ghost text in the DOM');
  let session: Session | undefined;
  let screenshot: string | undefined;
  let latency: LatencySummary | undefined;
  let host: Host | undefined;
  try {
    session = await openSession(browser, server, 'ui', path.join(ROOT, 'out', 'test', 'e2e', 'host'));
    const { page } = session;
    const s = session;
    // Readiness: the extension activated (the partner's control server is up), then the engine loaded.
    const port = await waitUntil('the extension to activate (test/e2e/host.ts control server)', LIMITS.hostMs, () => {
      if (!server.alive) throw new E2EError('code-server exited');
      if (!fs.existsSync(hostFile)) return undefined;
      return (JSON.parse(fs.readFileSync(hostFile, 'utf8')) as { port: number }).port;
    }, 200);
    host = new Host(port);
    const h = host;
    const activated = lockstepLogs(server.dirs.userData).map((f) => fs.readFileSync(f, 'utf8')).join('\n').match(/Lockstep \S+ starting[^\n]*/);
    log(`ui: activated${activated ? ` (log: "${activated[0]}")` : ''}`);
    const ready = await h.call<{ info: { target: string; drafters: string[] }; models: { drafter: string } }>('ready', {}, LIMITS.engineMs);
    log(`ui: engine ready: target ${ready.info.target}, drafter ${ready.models.drafter}; drafters ${ready.info.drafters.join(', ')}`);

    // Readiness of the editor itself: it asks the extension host for inline completions after a keystroke. The
    // first JavaScript editor of a session can stay silent for a while (seen: 20 s and more on a loaded machine).
    {
      const since = Date.now();
      let keystrokes = 0;
      await h.call('open', { path: sampleFile, line: 0, character: SAMPLE_JS.split('\n')[0].length });
      await page.locator('.monaco-editor.focused').first().waitFor({ timeout: 30_000 });
      await waitUntil('the editor to ask for inline completions after a keystroke', LIMITS.hostMs, async () => {
        const r = await h.call<{ requests: unknown[] }>('records', { since: 0, requestsSince: since });
        if (r.requests.length > 0) return true;
        if (keystrokes++ % 2 === 0) await page.keyboard.type(' ');
        else await page.keyboard.press('Backspace');
        return false;
      }, 3_000);
      log(`ui: the editor asks for inline completions (${((Date.now() - since) / 1000).toFixed(1)} s, ${keystrokes} keystroke(s))`);
      await h.call('closeAll');
    }

    /** The README's screenshot: the most ghost text seen on screen (up to a few lines' worth). */
    let best = 0;
    const screenshotIfGood = async (): Promise<void> => {
      const score = Math.min(240, ((await page.evaluate(GHOST_TEXT)) as string).length);
      if (score < 12 || score <= best * 1.25) return;
      best = score;
      screenshot = path.join(ARTIFACTS, 'screenshot.png');
      await page.screenshot({ path: screenshot });
    };

    // -- 1. accept: type, ghost text, Tab, save; the file holds exactly the generated completion -------------------
    // The model may end a completion at once for some seed (the text is not what is tested): then the next seed.
    // Each attempt edits a new file: a file written behind the editor's back could reach it late, mid-typing.
    let files = 0;
    const acceptOnce = async (label: string, seeds: number[], takeScreenshot: boolean): Promise<{ saved: string; record: HostRecord } | undefined> => {
      let timeouts = 0;
      for (let i = 0; i < seeds.length; ) {
        const seed = seeds[i];
        await h.call('setSetting', { key: 'seed', value: seed });
        await h.call('closeAll');
        const acceptFile = path.join(ws, ++files === 1 ? 'stats.js' : `stats-${files}.js`);
        fs.writeFileSync(acceptFile, ACCEPT_JS);
        await h.call('clearCache');
        await h.call('open', { path: acceptFile, line: ACCEPT_AT.line, character: ACCEPT_AT.character });
        await page.locator('.monaco-editor.focused').first().waitFor({ timeout: 30_000 });
        const t = await typeAndWaitForGhost(page, h, ACCEPT_AT.type, ACCEPT_AT.line, 20_000);
        if (t.timedOut) {
          // Nothing at all: once more with the same seed (a lost keystroke must not fail CI), then give up.
          if (++timeouts > 1) break;
          continue;
        }
        i++;
        if (t.empty || !t.record) {
          log(`ui: ${label}: ${t.empty ? 'empty completion' : 'no completion record'} for seed ${seed}`);
          continue;
        }
        const record = t.record;
        await sleep(300); // the lines below the cursor line may be laid out a frame later
        const ghost = (await page.evaluate(GHOST_TEXT)) as string;
        if (!fs.existsSync(path.join(ARTIFACTS, 'ghost.html'))) {
          fs.writeFileSync(path.join(ARTIFACTS, 'ghost.html'), (await page.evaluate(`Array.from(document.querySelectorAll(${JSON.stringify(GHOST_SELECTOR)})).map((e) => e.outerHTML).join('\\n\\n')`)) as string);
        }
        check(`${label}: ghost text shown is the generated completion`, ghost === noSpace(record.text),
          `${t.latencyMs?.toFixed(0)} ms; shown ${JSON.stringify(ghost.slice(0, 50))}${ghost === noSpace(record.text) ? '' : `, generated ${JSON.stringify(noSpace(record.text).slice(0, 50))}`}`);
        if (takeScreenshot) await screenshotIfGood();
        await page.keyboard.press('Tab');
        const expected = ACCEPT_JS.split('\n').map((l, i) => (i === ACCEPT_AT.line ? l + ACCEPT_AT.type + record.text : l)).join('\n');
        await waitUntil('the accepted text in the editor', 30_000, async () => (await h.call<{ text: string }>('editor')).text === expected, 100)
          .catch(async () => {
            const now = (await h.call<{ text: string }>('editor')).text;
            throw new E2EError(`${label}: after Tab the editor holds\n${now}\n--- expected ---\n${expected}`);
          });
        await page.keyboard.press('Control+s');
        await waitUntil('the saved file', 30_000, () => fs.readFileSync(acceptFile, 'utf8') === expected, 100).catch(() => {
          throw new E2EError(`${label}: after Ctrl+S ${path.basename(acceptFile)} on disk holds\n${fs.readFileSync(acceptFile, 'utf8')}\n--- expected ---\n${expected}`);
        });
        check(`${label}: Tab inserts it, Ctrl+S saves exactly it`, true, `${record.result?.tokens ?? '?'} tokens, drafter ${record.result?.drafter ?? record.drafter}, seed ${record.seed}`);
        return { saved: fs.readFileSync(acceptFile, 'utf8'), record };
      }
      check(`${label}: a non-empty completion`, false, timeouts > 1 ? `no completion within ${LIMITS.ghostMs / 1000} s, twice` : `empty for seeds ${seeds.join(', ')}`);
      return undefined;
    };

    // Cross-file context from imports only here: the files these checks save (stats*.js) must not become each
    // other's context, or the drafter comparison below would compare different prompts. The context check (after)
    // tests the sources; the latency loop runs with all of them.
    await h.call('setSetting', { key: 'context.sources', field: 'contextSources', value: ['imports'] });
    const first = await acceptOnce('accept (default drafter)', [0, 1, 2, 3], true);
    // -- 2. the same keystrokes with other drafters save byte-identical files (same seed, cache cleared) ----------
    if (first) {
      for (const drafter of ['none', 'prompt-lookup']) {
        await h.call('setSetting', { key: 'drafter', value: drafter }, LIMITS.engineMs);
        const again = await acceptOnce(`accept (drafter ${drafter})`, [first.record.seed], false);
        if (!again) break;
        check(`drafter ${drafter}: byte-identical file`, again.saved === first.saved && again.record.fromCache === false && again.record.seed === first.record.seed,
          `${again.record.result?.drafter}: ${JSON.stringify(again.record.text.slice(0, 40))}`);
      }
      await h.call('setSetting', { key: 'drafter', value: 'auto' }, LIMITS.engineMs);
    }
    await h.call('setSetting', { key: 'seed', value: 0 });
    await h.call('closeAll');

    // -- 3. partial accept: Ctrl+Right a word, Shift+Tab a line; the next request hits the cache (partialAccept.ts) --
    await runPartialAcceptCheck(page, h, ws, check);

    // -- 4. cross-file context: an imported / open file's definition reaches the prompt (contextCheck.ts) ----------
    await runContextCheck(page, h, ws, check);

    // -- 5. latency: keystroke → ghost text shown, over ≥ 30 triggers ------------------------------------------------
    const measured = await measureLatency(page, h, sampleFile, screenshotIfGood);
    latency = measured.latency;
    check(`latency loop: ghost text shown for ${measured.shown} of ${measured.triggers} triggers`, measured.shown > 0,
      `${latency.empty} empty completions, ${latency.timedOut} with nothing within ${LIMITS.ghostMs / 1000} s; ${latency.loopSeconds.toFixed(0)} s`);

    await h.call('finish', {});
    const code = await Promise.race([s.exit, sleep(LIMITS.exitMs).then(() => -1)]);
    if (code !== 0) check('the in-host partner ended cleanly', false, code === -1 ? 'no exit reported' : `exit code ${code}`);
  } catch (e) {
    check('ui session', false, (e as Error).message);
    if (session) {
      await session.page.screenshot({ path: path.join(ARTIFACTS, 'ui-failure.png') }).catch(() => undefined);
    }
    if (host) {
      const records = await host.call('records', { since: 0 }, 5_000).catch(() => undefined);
      if (records) fs.writeFileSync(path.join(ARTIFACTS, 'ui-records.json'), JSON.stringify(records, null, 2));
      await host.call('finish', { error: 'aborted' }, 5_000).catch(() => undefined);
    }
  } finally {
    await closeSession(session);
  }
  return { ok: checks.every((c) => c.ok), seconds: (Date.now() - start) / 1000, checks, latency, screenshot };
}
