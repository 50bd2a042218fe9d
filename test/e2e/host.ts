/**
 * The end-to-end runner's partner inside the editor's extension host (loaded as `extensionTestsPath` by
 * test/e2e/run.ts). The runner drives the real UI from the browser (keystrokes, ghost text in the DOM, Tab, Ctrl+S);
 * this module gives it what the DOM cannot: readiness through the extension's test API, the completion records the
 * provider produced, and a few setup actions (open a file at a cursor, change a setting, clear the cache).
 *
 * It serves a tiny JSON-over-HTTP protocol on 127.0.0.1 (a random port written to
 * `$LOCKSTEP_E2E_CONTROL/host.json`) until the runner POSTs /finish; run() then resolves (exit code 0) or rejects.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { fitContext } from '../../src/engine/prompt/contextFit';
import { buildContextPrompt } from '../../src/engine/prompt/contextPrompt';
import { detectFimTemplate } from '../../src/engine/prompt/fim';
import type { RequestContext } from '../../src/engine/request/requests';
import { TokenizerWrapper } from '../../src/engine/prompt/tokenizer';
import type { CompletionRecord, LockstepApi } from '../../src/vscode/extension';
import { extractWindow, windowChars } from '../../src/vscode/prompt';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { publisher: string; name: string; version: string };
const EXTENSION_ID = `${PKG.publisher}.${PKG.name}`;
/** How long the runner may take before the host gives up on it (the runner's own limits are shorter). */
const IDLE_LIMIT_MS = 20 * 60_000;

type Handler = (body: Record<string, unknown>) => Promise<unknown>;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitFor<T>(what: string, f: () => T | undefined | false, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

export async function run(): Promise<void> {
  const control = process.env.LOCKSTEP_E2E_CONTROL;
  if (!control) throw new Error('LOCKSTEP_E2E_CONTROL is not set: this module is started by test/e2e/run.ts');
  const say = (m: string): void => console.log(`[e2e-host] ${m}`);

  const ext = vscode.extensions.getExtension<LockstepApi>(EXTENSION_ID);
  if (!ext) throw new Error(`extension ${EXTENSION_ID} is not installed in the extension host`);
  const api = await ext.activate();
  say(`${EXTENSION_ID} ${PKG.version} activated in VS Code ${vscode.version} (Node ${process.versions.node})`);

  // Every completion record the provider produced, in order (the API exposes only the latest one).
  const records: (CompletionRecord & { observedAt: number })[] = [];
  const poll = setInterval(() => {
    const r = api.lastCompletion();
    if (r && (records.length === 0 || records[records.length - 1].sequence < r.sequence)) records.push({ ...r, observedAt: Date.now() });
  }, 5);

  // A second inline completion provider that offers nothing and records when the editor asked: tells a runner
  // waiting in vain for ghost text whether VS Code requested inline completions at all.
  const requests: { at: number; uri: string; line: number; character: number; triggerKind: number }[] = [];
  const spy = vscode.languages.registerInlineCompletionItemProvider({ pattern: '**' }, {
    provideInlineCompletionItems: (document, position, context) => {
      requests.push({ at: Date.now(), uri: document.uri.toString(), line: position.line, character: position.character, triggerKind: context.triggerKind });
      if (requests.length > 2000) requests.splice(0, 1000);
      return undefined;
    },
  });

  let finish!: (error?: Error) => void;
  const finished = new Promise<void>((resolve, reject) => {
    finish = (e) => (e ? reject(e) : resolve());
  });
  let lastRequest = Date.now();
  const idle = setInterval(() => {
    if (Date.now() - lastRequest > IDLE_LIMIT_MS) finish(new Error('the e2e runner went away'));
  }, 5_000);

  const handlers: Record<string, Handler> = {
    /** Waits for the engine (the extension's test API), returns what it loaded. */
    ready: async () => {
      const info = await api.engineReady();
      return { info, models: api.models(), settings: api.settings(), vscode: vscode.version, node: process.versions.node };
    },
    /** Opens a file (absolute path) in the active editor group with the cursor at (line, character), focused. */
    open: async (b) => {
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(String(b.path)));
      const editor = await vscode.window.showTextDocument(doc, { preview: false, preserveFocus: false });
      const pos = new vscode.Position(Number(b.line ?? 0), Number(b.character ?? 0));
      editor.selection = new vscode.Selection(pos, pos);
      editor.revealRange(new vscode.Range(pos, pos), vscode.TextEditorRevealType.InCenter);
      await vscode.commands.executeCommand('workbench.action.focusActiveEditorGroup');
      return { uri: doc.uri.toString(), languageId: doc.languageId };
    },
    /** Reverts and closes every editor. */
    closeAll: async () => {
      for (let i = 0; i < 50 && vscode.window.visibleTextEditors.length > 0; i++) {
        await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
      }
      return {};
    },
    /** The active editor's text and cursor. */
    editor: async () => {
      const e = vscode.window.activeTextEditor;
      if (!e) return { text: null };
      return { text: e.document.getText(), line: e.selection.active.line, character: e.selection.active.character, dirty: e.document.isDirty };
    },
    /** Records with sequence > `since`. */
    records: async (b) => {
      const since = Number(b.since ?? 0);
      const after = Number(b.requestsSince ?? Number.MAX_SAFE_INTEGER);
      return {
        records: records.filter((r) => r.sequence > since), generated: api.generatedCount(), seed: api.seed(),
        requests: requests.filter((r) => r.at >= after),
      };
    },
    /** Sets a lockstep.* user setting; for target/drafter also waits until the engine reloaded. */
    setSetting: async (b) => {
      const key = String(b.key);
      await vscode.workspace.getConfiguration('lockstep').update(key, b.value, vscode.ConfigurationTarget.Global);
      // The controller reads the settings when the change event fires; then the engine reloads if it must.
      if (b.value !== undefined && b.value !== null) {
        const want = JSON.stringify(b.value);
        // `field`: the settings object's name for a grouped key (context.sources → contextSources).
        const field = String(b.field ?? key);
        await waitFor(`lockstep.${key} = ${want}`, () => JSON.stringify((api.settings() as unknown as Record<string, unknown>)[field]) === want, 60_000);
      }
      await api.engineReady();
      return { models: api.models(), settings: api.settings() };
    },
    /**
     * The prompt for a cursor in an open document with the given cross-file context, rebuilt here with the engine's
     * own modules and the target's tokenizer (the runner compares its length with the engine's promptTokens).
     */
    prompt: async (b) => {
      const info = await api.engineReady();
      const models = api.models();
      if (!models) throw new Error('no target model');
      const doc = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === vscode.Uri.file(String(b.path)).fsPath);
      if (!doc) throw new Error(`${String(b.path)} is not open`);
      const settings = api.settings();
      const win = extractWindow({ lineCount: doc.lineCount, lineAt: (i) => doc.lineAt(i).text },
        { line: Number(b.line), character: Number(b.character) }, windowChars(settings.contextTokens));
      const tok = TokenizerWrapper.fromDir(models.targetDir);
      const context = b.context as RequestContext | undefined;
      const fit = fitContext(info.maxPositions, settings.maxTokens, settings.contextTokens);
      const p = buildContextPrompt(tok, detectFimTemplate(tok, info.fim), {
        files: context?.snippets ?? [], current: { path: context?.path ?? '', before: win.before, after: win.after },
        budgetTokens: context?.budgetTokens ?? 0, maxPromptTokens: fit.promptTokens, repoName: context?.repoName,
      });
      return { text: tok.decode(p.ids), tokens: p.ids.length };
    },
    clearCache: async () => {
      api.clearCache();
      return {};
    },
    /** Runs a command (e.g. lockstep.nextSeed) and returns its result when it is JSON-serialisable. */
    command: async (b) => {
      const result: unknown = await vscode.commands.executeCommand(String(b.id), ...((b.args as unknown[] | undefined) ?? []));
      try {
        return { result: JSON.parse(JSON.stringify(result ?? null)) as unknown, seed: api.seed() };
      } catch {
        return { result: null, seed: api.seed() };
      }
    },
    finish: async (b) => {
      setTimeout(() => finish(b.error ? new Error(String(b.error)) : undefined), 50);
      return {};
    },
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      lastRequest = Date.now();
      const name = (req.url ?? '/').replace(/^\//, '');
      const handler = Object.prototype.hasOwnProperty.call(handlers, name) ? handlers[name] : undefined;
      const reply = (status: number, value: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      if (!handler) return reply(404, { error: `no such call: ${name}` });
      let body: Record<string, unknown> = {};
      try {
        if (chunks.length) body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch (e) {
        return reply(400, { error: (e as Error).message });
      }
      handler(body).then(
        (v) => reply(200, v),
        (e: Error) => reply(500, { error: e.message }),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  fs.mkdirSync(control, { recursive: true });
  const file = path.join(control, 'host.json');
  fs.writeFileSync(`${file}.tmp`, JSON.stringify({ port, pid: process.pid }));
  fs.renameSync(`${file}.tmp`, file);
  say(`control server on 127.0.0.1:${port}`);
  try {
    await finished;
  } finally {
    clearInterval(poll);
    clearInterval(idle);
    spy.dispose();
    server.close();
  }
}
