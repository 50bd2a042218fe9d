/**
 * The runner's side of test/e2e/host.ts (the in-host partner): its JSON-over-HTTP calls and the completion records
 * the provider produced.
 */
import type { CompletionResult } from '../../src/engine/process/engine';
import type { CompletionRecord } from '../../src/vscode/provider';
import { E2EError } from './common';

/** A completion record as the host sends it (JSON): the part of the provider's CompletionRecord the runner reads. */
export type HostRecord = Pick<
  CompletionRecord, 'sequence' | 'line' | 'character' | 'text' | 'fullText' | 'seed' | 'drafter' | 'drafterRequest' | 'fromCache' | 'mode' | 'context'
> & {
  result?: Pick<CompletionResult, 'tokens' | 'seconds' | 'tokensPerSecond' | 'drafter' | 'acceptance' | 'stopReason' | 'promptTokens' | 'contextFiles' | 'contextTokens'>;
};

export class Host {
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
