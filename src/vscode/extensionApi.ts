/** What activate() returns (api.ts): read-only views of the extension's state, plus Verify, for tests and other extensions. */
import type { LockstepApi } from './api';
import type { ExtensionState } from './extensionState';
import type { LockstepInlineProvider } from './provider';
import { verify } from './verifyCommand';

export function makeApi(x: ExtensionState, provider: LockstepInlineProvider, warnings: () => string[]): LockstepApi {
  return {
    engineReady: () => x.engine.ready(),
    lastCompletion: () => {
      const r = provider.lastCompletion();
      return r === undefined ? undefined : { ...r };
    },
    generatedCount: () => provider.generated,
    verify: (options) => verify(x, options?.show ?? false),
    settings: () => ({
      ...x.settings, disabledLanguages: [...x.settings.disabledLanguages],
      contextSources: [...x.settings.contextSources], contextExclude: [...x.settings.contextExclude],
    }),
    warnings,
    seed: () => x.seeds.current,
    models: () =>
      x.plan && {
        target: x.plan.target.label,
        targetDir: x.plan.target.dir,
        drafter: x.plan.drafter.label,
        drafterRequest: x.plan.drafter.request,
      },
    clearCache: () => provider.cache.clear(),
  };
}
