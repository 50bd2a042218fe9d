/**
 * A small stand-in for the `vscode` module: just what src/vscode uses, recording what the extension shows. It lets
 * node's test runner activate the real extension code (controller, provider, commands) on machines without VS Code;
 * the @vscode/test-electron suite (test/suite) runs the same scenarios in a real editor.
 *
 * install() makes require('vscode') return the fake; documents are plain strings with a cursor.
 */
import Module = require('node:module');

type Listener<T> = (e: T) => unknown;

export class EventEmitter<T> {
  private listeners: Listener<T>[] = [];
  readonly event = (l: Listener<T>): { dispose(): void } => {
    this.listeners.push(l);
    return { dispose: () => void (this.listeners = this.listeners.filter((x) => x !== l)) };
  };
  fire(e: T): void {
    for (const l of [...this.listeners]) l(e);
  }
}

export class Position {
  constructor(readonly line: number, readonly character: number) {}
}

export class Range {
  constructor(readonly start: Position, readonly end: Position) {}
}

export class InlineCompletionItem {
  constructor(public insertText: string, public range?: Range, public command?: { command: string; title: string; arguments?: unknown[] }) {}
}

export class ThemeColor {
  constructor(readonly id: string) {}
}

export class CancellationTokenSource {
  private readonly emitter = new EventEmitter<void>();
  private cancelled = false;
  readonly token = {
    isCancellationRequested: false,
    onCancellationRequested: this.emitter.event,
  };
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.token.isCancellationRequested = true;
    this.emitter.fire();
  }
}

export class FakeDocument {
  lines: string[];
  /** Increases with every edit, as TextDocument.version does. */
  version = 1;
  constructor(readonly uri: { toString(): string; fsPath: string; scheme: string }, text: string, readonly languageId = 'javascript') {
    this.lines = text.split('\n');
  }
  get lineCount(): number {
    return this.lines.length;
  }
  lineAt(i: number): { text: string } {
    return { text: this.lines[i] };
  }
  getText(): string {
    return this.lines.join('\n');
  }
  positionAt(offset: number): Position {
    const before = this.getText().slice(0, offset).split('\n');
    return new Position(before.length - 1, before[before.length - 1].length);
  }
  /** Inserts text at a position (returns the position after it). */
  insert(pos: Position, text: string): Position {
    this.version++;
    const line = this.lines[pos.line];
    const joined = line.slice(0, pos.character) + text + line.slice(pos.character);
    const parts = joined.split('\n');
    this.lines.splice(pos.line, 1, ...parts);
    const inserted = text.split('\n');
    return inserted.length === 1
      ? new Position(pos.line, pos.character + text.length)
      : new Position(pos.line + inserted.length - 1, inserted[inserted.length - 1].length);
  }
}

export function fileUri(p: string): { toString(): string; fsPath: string; scheme: string } {
  return { toString: () => `file://${p}`, fsPath: p, scheme: 'file' };
}

/** The Uri functions src/vscode uses, over fileUri. */
const Uri = {
  file: fileUri,
  parse: (s: string) => (s.startsWith('file://') ? fileUri(s.slice('file://'.length)) : { toString: () => s, fsPath: s, scheme: s.split(':')[0] }),
  joinPath: (base: { fsPath: string }, ...parts: string[]) => fileUri([base.fsPath, ...parts].join('/')),
};

type FakeUri = ReturnType<typeof fileUri>;

/** Everything the fake records, and the knobs a test turns. */
export class FakeVscode {
  readonly messages: { level: 'info' | 'warn' | 'error'; text: string }[] = [];
  readonly log: string[] = [];
  readonly commands = new Map<string, (...args: unknown[]) => unknown>();
  readonly executed: string[] = [];
  readonly opened: { language?: string; content?: string }[] = [];
  providers: { selector: unknown; provider: { provideInlineCompletionItems(...a: unknown[]): Promise<InlineCompletionItem[] | undefined> } }[] = [];
  readonly statusBar = { text: '', tooltip: '' as unknown, name: '', command: '', backgroundColor: undefined as unknown };
  config: Record<string, unknown> = {};
  activeTextEditor: { document: FakeDocument; selection: { active: Position } } | undefined;
  /** What showQuickPick / showInputBox answer (undefined = dismissed). */
  quickPickAnswer: ((items: unknown[]) => unknown) | undefined;
  inputAnswer: string | undefined;
  /** What a message's buttons answer (undefined = dismissed); `actions` are the buttons offered. */
  messageAnswer: ((text: string, actions: string[]) => string | undefined) | undefined;
  private readonly configEmitter = new EventEmitter<{ affectsConfiguration(s: string): boolean }>();
  /** Workspace folders, open documents, editor tabs, trust and `files.*` settings (cross-file context). */
  folders: { uri: FakeUri; name: string; index: number }[] | undefined;
  documents: FakeDocument[] = [];
  tabs: FakeUri[] = [];
  trusted = true;
  filesConfig: Record<string, unknown> = {};
  readonly docChanges = new EventEmitter<{ document: FakeDocument; contentChanges: unknown[] }>();
  readonly activeEditorChanges = new EventEmitter<{ document: FakeDocument } | undefined>();

  /** Sets settings (as the user would in settings.json) and fires the change event. */
  setConfig(values: Record<string, unknown>): void {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete this.config[k];
      else this.config[k] = v;
    }
    this.configEmitter.fire({ affectsConfiguration: (s) => s === 'lockstep' || Object.keys(values).some((k) => `lockstep.${k}` === s) });
  }

  /** Records a message; answers with messageAnswer (string buttons only; an options object is skipped). */
  private message(level: 'info' | 'warn' | 'error', text: string, actions: unknown[]): string | undefined {
    this.messages.push({ level, text });
    return this.messageAnswer?.(text, actions.filter((a): a is string => typeof a === 'string'));
  }

  module(): Record<string, unknown> {
    const self = this;
    const disposable = { dispose: () => undefined };
    const logFn = (level: string) => (m: string) => void self.log.push(`${level} ${m}`);
    return {
      version: '1.90.0-fake',
      Position, Range, InlineCompletionItem, Selection: class { constructor(readonly anchor: Position, readonly active: Position) {} }, ThemeColor, EventEmitter, CancellationTokenSource,
      StatusBarAlignment: { Left: 1, Right: 2 },
      ConfigurationTarget: { Global: 1, Workspace: 2, WorkspaceFolder: 3 },
      ProgressLocation: { SourceControl: 1, Window: 10, Notification: 15 },
      ViewColumn: { Active: -1, Beside: -2 },
      InlineCompletionTriggerKind: { Invoke: 0, Automatic: 1 },
      Uri,
      window: {
        visibleTextEditors: [],
        get tabGroups() {
          return { all: [{ tabs: self.tabs.map((uri) => ({ input: { uri } })) }] };
        },
        onDidChangeActiveTextEditor: this.activeEditorChanges.event,
        get activeTextEditor() {
          return self.activeTextEditor;
        },
        createOutputChannel: () => ({
          trace: logFn('trace'), debug: logFn('debug'), info: logFn('info'), warn: logFn('warn'), error: logFn('error'),
          show: () => undefined, dispose: () => undefined, appendLine: logFn('line'),
        }),
        createStatusBarItem: () => Object.assign(self.statusBar, { show: () => undefined, dispose: () => undefined }),
        showInformationMessage: async (text: string, ...actions: unknown[]) => self.message('info', text, actions),
        showWarningMessage: async (text: string, ...actions: unknown[]) => self.message('warn', text, actions),
        showErrorMessage: async (text: string, ...actions: unknown[]) => self.message('error', text, actions),
        showQuickPick: async (items: unknown[]) => self.quickPickAnswer?.(await items),
        showInputBox: async () => self.inputAnswer,
        showOpenDialog: async () => undefined,
        showTextDocument: async (document: FakeDocument) => ({ document, selection: undefined as unknown }),
        withProgress: async (_o: unknown, task: (p: unknown, t: unknown) => Promise<unknown>) =>
          task({ report: () => undefined }, new CancellationTokenSource().token),
      },
      workspace: {
        get workspaceFolders() {
          return self.folders;
        },
        get textDocuments() {
          return self.documents;
        },
        get isTrusted() {
          return self.trusted;
        },
        getWorkspaceFolder: (u: FakeUri) => self.folders?.find((f) => u.fsPath.startsWith(`${f.uri.fsPath}/`)),
        onDidChangeTextDocument: this.docChanges.event,
        asRelativePath: (u: { fsPath: string }) => u.fsPath,
        getConfiguration: (section?: string) => ({
          get: (k: string) => (section === 'files' ? self.filesConfig[k] : self.config[k]),
          inspect: (k: string) => ({ key: k, globalValue: self.config[k] }),
          update: async (k: string, v: unknown) => self.setConfig({ [k]: v }),
        }),
        onDidChangeConfiguration: this.configEmitter.event,
        onDidCloseTextDocument: () => disposable,
        onDidGrantWorkspaceTrust: () => disposable,
        openTextDocument: async (o: { language?: string; content?: string }) => {
          self.opened.push(o);
          return new FakeDocument({ toString: () => `untitled:Untitled-${self.opened.length}`, fsPath: `Untitled-${self.opened.length}`, scheme: 'untitled' }, o.content ?? '', o.language);
        },
      },
      languages: {
        registerInlineCompletionItemProvider: (selector: unknown, provider: FakeVscode['providers'][number]['provider']) => {
          self.providers.push({ selector, provider });
          return { dispose: () => void (self.providers = self.providers.filter((p) => p.provider !== provider)) };
        },
      },
      commands: {
        registerCommand: (id: string, f: (...a: unknown[]) => unknown) => {
          self.commands.set(id, f);
          return { dispose: () => void self.commands.delete(id) };
        },
        executeCommand: async (id: string, ...args: unknown[]) => {
          self.executed.push(id);
          const f = self.commands.get(id);
          return f ? f(...args) : undefined;
        },
      },
    };
  }
}

/** Makes require('vscode') return `fake.module()` (until the returned function is called). */
export function install(fake: FakeVscode): () => void {
  const mod = fake.module();
  const M = Module as unknown as { _load(request: string, parent: unknown, isMain: boolean): unknown };
  const original = M._load;
  M._load = function (request: string, parent: unknown, isMain: boolean) {
    if (request === 'vscode') return mod;
    return original.call(this, request, parent, isMain);
  };
  return () => {
    M._load = original;
  };
}

/** ExtensionContext.secrets: an in-memory SecretStorage with its change event. */
export class FakeSecretStorage {
  readonly values = new Map<string, string>();
  private readonly changes = new EventEmitter<{ key: string }>();
  readonly onDidChange = this.changes.event;
  async get(key: string): Promise<string | undefined> {
    return this.values.get(key);
  }
  async store(key: string, value: string): Promise<void> {
    this.values.set(key, value);
    this.changes.fire({ key });
  }
  async delete(key: string): Promise<void> {
    this.values.delete(key);
    this.changes.fire({ key });
  }
}
