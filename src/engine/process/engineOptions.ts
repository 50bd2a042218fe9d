/**
 * Comparing engine options: whether a loaded engine can already serve a request's models. Shared by the engine host
 * (src/engine/process/engineHost.ts), which the extension and `lockstep serve` both use.
 */
import * as path from 'node:path';
import type { DrafterSpec, EngineOptions } from '../request/requests';

/** True when the plan's engine already has every model `want` needs (same target and options, drafters a superset). */
export function engineCovers(loaded: EngineOptions, want: EngineOptions): boolean {
  const strip = (o: EngineOptions): string => JSON.stringify({ ...o, drafters: undefined });
  if (strip(loaded) !== strip(want)) return false;
  const id = (d: DrafterSpec): string => `${path.resolve(d.dir)}\u0000${d.variant ?? ''}\u0000${JSON.stringify(d.variants ?? {})}`;
  const have = new Map((loaded.drafters ?? []).map((d) => [d.name, id(d)]));
  return (want.drafters ?? []).every((d) => have.get(d.name) === id(d));
}
