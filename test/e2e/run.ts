/**
 * `npm run test:e2e`: the extension in a real editor — code-server (VS Code in the browser, with a real Node extension
 * host) driven by Debian's Chromium through playwright-core. Needs `bash test/e2e/setup.sh` first (the npm script
 * runs it), `tsc -p .` and `node esbuild.mjs`.
 *
 * Two sessions in one code-server, each a fresh browser context loading the workbench with the packaged extension
 * installed (below):
 *   1. suite — the shared integration suite (test/suite, mocha) inside the extension host, as @vscode/test-electron
 *      would run it; its output and exit code come back through the smoke-test driver hooks.
 *   2. ui    — keystrokes in the browser: ghost text appears in the DOM, Tab accepts it, Ctrl+S saves it, and the
 *      file on disk holds exactly the completion the extension generated; the same keystrokes with other drafters
 *      give byte-identical files; then ≥ 30 triggers measure keystroke → ghost text shown (p50/p95, printed, not
 *      asserted). test/e2e/host.ts, loaded as the extension tests, is the in-host partner.
 *   3. firstrun — in a second code-server with a clean profile: the demo names itself, Set Up a Model recommends,
 *      downloads the ci stand-in from a local Hub stand-in, switches, probes, and its ghost text shows (firstRun.ts).
 *
 * The extension under test is the packaged one: the .vsix scripts/package-vsix.mjs builds, installed into each
 * code-server's throwaway extensions folder with `code-server --install-extension`; a generated harness extension is
 * the payload's "extension under development" and every session checks that Lockstep runs from the installed folder
 * (packaged.ts; LOCKSTEP_E2E_DEV=1 loads the repository as the extension under development instead).
 *
 * Every process it starts is killed at the end (code-server's process group; the browser), also on SIGINT/SIGTERM.
 * Artifacts (logs, screenshot, measurements) go to out/e2e/. Environment:
 *   LOCKSTEP_E2E_CACHE       where setup.sh installed code-server (default ~/.cache/lockstep-e2e)
 *   LOCKSTEP_E2E_ONLY        `suite`, `ui` or `firstrun`: run one session
 *   LOCKSTEP_E2E_TRIGGERS    measured triggers (default 32)
 *   LOCKSTEP_E2E_SCREENSHOT  also copy the screenshot of the ghost text there (e.g. media/screenshot.png)
 *   LOCKSTEP_E2E_CHROMIUM    browser executable (default /usr/bin/chromium)
 *   LOCKSTEP_SUITE_GREP      only the suite's tests matching this
 *   LOCKSTEP_E2E_DEV         1: the repository as the extension under development, no .vsix
 *
 * This file is the pipeline; the parts, one job each:
 *   common.ts      paths, limits, the log line, waitUntil
 *   packaged.ts    the .vsix under test: build, install into a code-server, the harness and its check
 *   codeServer.ts  code-server: install, port, throwaway folders and settings, start, /healthz, process-group stop
 *   browser.ts     Chromium; a workbench session with the extension under development and the automation hooks
 *   suite.ts       session 1: the shared suite in the extension host
 *   ui.ts          session 2: readiness, ghost text = completion, Tab + Ctrl+S, drafter invariance, screenshot
 *   firstRun.ts    session 3: a clean profile from the demo notice through the setup to the downloaded model's ghost text
 *   contextCheck.ts  cross-file context: an imported / open file's snippet in the request and the prompt
 *   ghost.ts       ghost text in the DOM: probes, and one trigger (type, wait for ghost text or an empty completion)
 *   hostClient.ts  the runner's client of host.ts (the in-host partner)
 *   latency.ts     the latency loop, its figures and summary lines
 *   workspace.ts   the files the UI session edits
 *   report.ts      the summary and log tails
 *   shutdown.ts    one cleanup for the end, failures, signals and the watchdog; the exit code
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { closeBrowser, launchBrowser } from './browser';
import { CodeServer, copyLockstepLogs, findInstall, freePort } from './codeServer';
import { ARTIFACTS, E2EError, ROOT, log } from './common';
import { buildPackaged } from './packaged';
import { printLogTails, summary } from './report';
import { armStopHandlers, exitWhenDone, setCleanup } from './shutdown';
import { runSuite } from './suite';
import { runFirstRun } from './firstRun';
import { runUi, type UiResult } from './ui';

async function main(): Promise<number> {
  fs.rmSync(ARTIFACTS, { recursive: true, force: true });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  for (const f of ['dist/extension.js', 'dist/engineProcess.js', 'out/test/suite/index.js', 'out/test/e2e/host.js']) {
    if (!fs.existsSync(path.join(ROOT, f))) throw new E2EError(`${f} is missing: run \`npx tsc -p . && node esbuild.mjs\` first (npm run test:e2e does)`);
  }
  const only = process.env.LOCKSTEP_E2E_ONLY ?? '';
  if (only && !['suite', 'ui', 'firstrun'].includes(only)) throw new E2EError(`LOCKSTEP_E2E_ONLY must be suite, ui or firstrun, not ${only}`);
  const install = findInstall();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-e2e-'));
  const server = new CodeServer(await freePort(), root);
  let browser: Browser | undefined;
  let failedHard = false;
  const cleanup = setCleanup(async () => {
    await closeBrowser(browser);
    copyLockstepLogs(server.dirs.userData, ARTIFACTS);
    await server.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });
  try {
    buildPackaged(path.join(root, 'vsix'));
    server.start(install);
    await server.ready();
    log('code-server healthy');
    browser = await launchBrowser(path.join(root, 'browser'));
    log(`browser ${browser.version()} launched`);
    const suite = only === '' || only === 'suite' ? await runSuite(browser, server) : undefined;
    if (suite) log(`suite: ${suite.ok ? 'passed' : 'FAILED'} — ${suite.passing ?? 0} passing, ${suite.failing ?? 0} failing, ${suite.seconds.toFixed(0)} s`);
    const ui = only === '' || only === 'ui' ? await runUi(browser, server) : undefined;
    if (ui?.screenshot && process.env.LOCKSTEP_E2E_SCREENSHOT) {
      fs.copyFileSync(ui.screenshot, path.resolve(process.env.LOCKSTEP_E2E_SCREENSHOT));
      log(`screenshot copied to ${process.env.LOCKSTEP_E2E_SCREENSHOT}`);
    }
    // The first run needs a clean profile: a code-server of its own, started when the shared one is stopped.
    let firstRun: UiResult | undefined;
    if (only === '' || only === 'firstrun') {
      copyLockstepLogs(server.dirs.userData, ARTIFACTS);
      await server.stop();
      firstRun = await runFirstRun(browser, install);
    }
    const { text, failed } = summary(install.version, browser.version(), suite, ui, firstRun);
    if (failed) process.exitCode = 1;
    process.stdout.write(text);
    return failed ? 1 : 0;
  } catch (e) {
    failedHard = true;
    throw e;
  } finally {
    await cleanup();
    if (failedHard || process.exitCode) printLogTails();
  }
}

armStopHandlers();
exitWhenDone(main());
