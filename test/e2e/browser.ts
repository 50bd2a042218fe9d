/**
 * The browser: Debian's Chromium through playwright-core, and the workbench sessions it opens — a fresh context each,
 * loading code-server with the harness extension under development (the installed .vsix is the Lockstep under test,
 * checked for every session: packaged.ts), its automation hooks (the extension tests' output and exit code) wired to
 * the runner.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { CodeServer } from './codeServer';
import { ARTIFACTS, E2EError, LIMITS, ROOT, log, sleep } from './common';
import { checkInstalled, clearHarnessReport, packaged } from './packaged';

export async function launchBrowser(scratch: string): Promise<Browser> {
  const executablePath = process.env.LOCKSTEP_E2E_CHROMIUM || '/usr/bin/chromium';
  if (!fs.existsSync(executablePath)) throw new E2EError(`no browser at ${executablePath}: run \`bash test/e2e/setup.sh\` (apt chromium)`);
  const launch = (): Promise<Browser> =>
    chromium.launch({
      executablePath,
      headless: true,
      timeout: 90_000,
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
      // Chromium's crash reporter writes under $XDG_CONFIG_HOME whatever the profile folder: keep it in ours.
      env: { ...process.env, XDG_CONFIG_HOME: path.join(scratch, 'config'), XDG_CACHE_HOME: path.join(scratch, 'cache') },
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-extensions',
        '--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows'],
    });
  try {
    return await launch();
  } catch (e) {
    log(`browser launch failed (${(e as Error).message.split('\n')[0]}); retrying once`);
    await sleep(3_000);
    return launch();
  }
}

/** Makes VS Code honour the extension-development payload (it does only with the smoke-test driver enabled). */
const ENABLE_SMOKE_TEST_DRIVER = `(() => {
  const ID = 'vscode-workbench-web-configuration';
  const original = Element.prototype.getAttribute;
  Element.prototype.getAttribute = function (name) {
    const value = original.call(this, name);
    if (name === 'data-settings' && this.id === ID && value) {
      try {
        const config = JSON.parse(value);
        config.developmentOptions = Object.assign({}, config.developmentOptions, { enableSmokeTestDriver: true });
        return JSON.stringify(config);
      } catch (e) { return value; }
    }
    return value;
  };
})();`;

export interface Session {
  context: BrowserContext;
  page: Page;
  /** Resolves with the exit code the workbench reports when the extension tests end. */
  exit: Promise<number>;
  output: string[];
}

export async function openSession(browser: Browser, server: CodeServer, name: string, testsPath: string): Promise<Session> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 760 }, deviceScaleFactor: 1 });
  context.setDefaultTimeout(60_000);
  const page = await context.newPage();
  const output: string[] = [];
  const consoleLog = fs.createWriteStream(path.join(ARTIFACTS, `${name}-browser.log`));
  let resolveExit!: (code: number) => void;
  const exit = new Promise<number>((r) => (resolveExit = r));
  await page.exposeFunction('codeAutomationLog', (type: unknown, args: unknown) => {
    const parts = Array.isArray(args) ? args : [args];
    const text = parts.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
    output.push(text);
    consoleLog.write(`[${String(type)}] ${text}\n`);
  });
  await page.exposeFunction('codeAutomationExit', (code: unknown) => resolveExit(typeof code === 'number' ? code : 1));
  page.on('console', (m) => consoleLog.write(`[console.${m.type()}] ${m.text()}\n`));
  page.on('pageerror', (e) => consoleLog.write(`[pageerror] ${e.message}\n`));
  page.on('close', () => consoleLog.end());
  await page.addInitScript(ENABLE_SMOKE_TEST_DRIVER);
  const remote = (p: string): string => `vscode-remote://127.0.0.1:${server.port}${p}`;
  // The extension under development is the harness when the packaged .vsix is installed (packaged.ts), so that the
  // Lockstep under test is the installed one; else (LOCKSTEP_E2E_DEV=1) the repository itself.
  const payload = [
    ['extensionDevelopmentPath', remote(packaged()?.harness ?? ROOT)],
    ['extensionTestsPath', remote(testsPath)],
  ];
  const url = `${server.url}/?folder=${encodeURIComponent(server.dirs.workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  clearHarnessReport(server.dirs.control);
  await page.goto(url, { waitUntil: 'domcontentloaded', timeout: LIMITS.pageLoadMs });
  await page.waitForSelector('.monaco-workbench', { timeout: LIMITS.pageLoadMs });
  log(`${name}: workbench loaded`);
  await checkInstalled(name, server.dirs.control, server.dirs.extensions);
  return { context, page, exit, output };
}

export async function closeSession(s: Session | undefined): Promise<void> {
  if (!s) return;
  await Promise.race([s.context.close().catch(() => undefined), sleep(15_000)]);
}

export async function closeBrowser(browser: Browser | undefined): Promise<void> {
  if (browser) await Promise.race([browser.close().catch(() => undefined), sleep(15_000)]);
}
