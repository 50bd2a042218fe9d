/**
 * `lockstep complete --request FILE`: the whole CompletionRequest as JSON (what `lockstep serve` answers in
 * `lockstep.request`), so that a server's answer can be reproduced byte for byte from the command line. The request
 * decides the prompt and every setting; flags that would decide them too are refused rather than silently losing.
 */
import type { CompletionRequest } from '../engine/request/requests';
import { RequestError, parseCompletionRequest, type RequestDefaults } from '../engine/request/requestJson';
import { UsageError } from './args';
import { CliError, CliIo } from './io';
import { readTextFile } from './textInput';

/** Flags whose meaning a --request file already carries. */
export const REQUEST_CONFLICTS = [
  'drafter', 'seed', 'temperature', 'top-p', 'top-k', 'gamma', 'coupling', 'max-tokens', 'mode',
  'prefix', 'prefix-file', 'suffix', 'suffix-file', 'context-file', 'context-budget', 'path',
] as const;

export async function requestInput(
  file: string, given: Readonly<Record<string, unknown>>, positional: string | undefined, io: CliIo, defaults: RequestDefaults,
): Promise<CompletionRequest> {
  const clash = REQUEST_CONFLICTS.filter((k) => given[k] !== undefined && !(Array.isArray(given[k]) && given[k].length === 0)).map((k) => `--${k}`);
  if (positional !== undefined) clash.unshift(positional);
  if (clash.length > 0) throw new UsageError(`--request carries the prompt and every setting: drop ${clash.join(', ')}`);
  const text = file === '-' ? await io.readStdin() : readTextFile(file, io.cwd);
  const where = file === '-' ? 'stdin' : file;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw new CliError(`--request ${where} is not JSON: ${(e as Error).message}`);
  }
  try {
    return parseCompletionRequest(body, defaults);
  } catch (e) {
    if (e instanceof RequestError) throw new CliError(`--request ${where}: ${e.message}`);
    throw e;
  }
}
