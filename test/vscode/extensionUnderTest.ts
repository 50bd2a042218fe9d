/**
 * The extension activated against the stand-in `vscode` (fakeVscode.ts), as the vscode-* tests use it: install the
 * fake before the extension's module is loaded, a minimal ExtensionContext, activation up to a ready engine, and the
 * teardown (subscriptions, deactivate, the fake removed).
 */
import type { LockstepApi } from '../../src/vscode/extension';
import { type FakeVscode, install } from './fakeVscode';

export interface ExtensionUnderTest {
  ext: typeof import('../../src/vscode/extension');
  context: { subscriptions: { dispose(): unknown }[]; extension: { id: string; packageJSON: { version: string } }; [extra: string]: unknown };
  /** activate() and wait for the engine. */
  activate(): Promise<LockstepApi>;
  close(): Promise<void>;
}

/** `extra`: more ExtensionContext members (globalState, secrets …). */
export function extensionUnderTest(fake: FakeVscode, extra: Record<string, unknown> = {}): ExtensionUnderTest {
  const uninstall = install(fake);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ext = require('../../src/vscode/extension') as typeof import('../../src/vscode/extension');
  const context = { subscriptions: [] as { dispose(): unknown }[], extension: { id: 'lockstep.lockstep', packageJSON: { version: '0.1.0' } }, ...extra };
  return {
    ext,
    context,
    async activate() {
      const api = ext.activate(context as never);
      await api.engineReady();
      return api;
    },
    async close() {
      for (const d of context.subscriptions) d.dispose();
      await ext.deactivate();
      uninstall();
    },
  };
}
