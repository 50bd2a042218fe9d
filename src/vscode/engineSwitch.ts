/**
 * The controller's engines: the local EngineHost (an engine process), or — while `lockstep.server.url` is set — the
 * server's RemoteEngine. `current` is what the provider and the commands complete with. Switching to a server stops
 * the local engine process (a fresh, idle host is kept for switching back); switching either way empties the
 * completion cache (another engine, maybe other models).
 */
import type { EngineHost } from '../engine/process/engineHost';
import type { CompletionEngine } from './completionEngine';
import type { EnginePlan } from './enginePlan';
import { RemoteEngine, type RemoteEngineOptions } from './remoteEngine';
import type { LockstepSettings } from './settings';

export class EngineSwitch {
  private local: EngineHost;
  private remote: RemoteEngine | undefined;

  constructor(
    private readonly newHost: () => EngineHost,
    private readonly remoteOptions: Omit<RemoteEngineOptions, 'url'>,
    /** The engine changed: cached completions are not the new engine's. */
    private readonly switched: () => void,
  ) {
    this.local = newHost();
  }

  get current(): CompletionEngine {
    return this.remote ?? this.local;
  }

  /** The local engine host (configure it only while no server is set). */
  get host(): EngineHost {
    return this.local;
  }

  /** Back to the local engine (nothing happens without a server). */
  useLocal(): void {
    if (!this.remote) return;
    this.remote.dispose();
    this.remote = undefined;
    this.switched();
  }

  /** Completions from the server at `url`; returns the plan the controller shows (the model settings are the server's). */
  useServer(url: string, settings: Pick<LockstepSettings, 'drafter'>): EnginePlan {
    if (this.remote?.url !== url) {
      this.remote?.dispose();
      if (this.local.current) {
        void this.local.dispose();
        this.local = this.newHost();
      }
      this.remote = new RemoteEngine({ ...this.remoteOptions, url });
      this.remoteOptions.log.info(`completions come from the server ${url}: the target, variant, device and threads settings are the server's`);
      this.remoteOptions.onState({ kind: 'loading', target: `server @ ${this.remote.host}` });
      this.switched();
    }
    void this.remote.ready().catch(() => undefined);
    return this.remote.planFor(settings);
  }

  /** Lockstep: Restart Engine: the server is asked again, or the local engine restarts; false when neither runs. */
  restart(): boolean {
    if (this.remote) this.remote.reset();
    else if (this.local.current) this.local.restart();
    else return false;
    return true;
  }

  /** The stored server token changed. */
  tokenChanged(): void {
    this.remote?.reset();
  }

  async dispose(): Promise<void> {
    this.remote?.dispose();
    await this.local.dispose();
  }
}
