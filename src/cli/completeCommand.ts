/**
 * `lockstep complete (<file>:<line>:<col> | - | -:<line>:<col> | --prefix TEXT) [options]`: one completion at a cursor.
 * The text goes to stdout and a stats line to stderr (or one JSON object with --json).
 */
import { CompletionRequest, CompletionResult } from '../engine/engine';
import { Catalog, CatalogEntry, findEntry, resolveModelDir } from '../models/catalog';
import * as A from './args';
import { UsageError } from './args';
import { DEFAULT_CONTEXT_BUDGET, cliContext } from './contextFiles';
import { engineNotices, entryFor, openCatalog, openEngine, recommendedDrafters } from './engineOpen';
import { CliIo } from './io';
import { COUPLINGS, commonDefs } from './options';
import { PromptText, parsePosition, promptAtPosition, splitAtCursor } from './prompts';

const completeDefs = {
  ...commonDefs,
  drafter: A.single(A.str, 'DRAFTER', 'none | prompt-lookup | catalog id | directory | prompt-lookup+<id> (default: the target\'s first recommended drafter)'),
  seed: A.single(A.seed, 'N', 'public-randomness seed (default 0)'),
  temperature: A.single(A.temperature, 'T', 'sampling temperature; 0, or anything below 1e-6, = greedy (default 0.2)'),
  gamma: A.single(A.gamma, 'G', 'drafts per round, 0..32 or auto (default auto)'),
  coupling: A.single(A.choice(COUPLINGS), 'KIND', 'gumbel | wmh | standard (default gumbel)'),
  prefix: A.single(A.str, 'TEXT', 'text before the cursor (instead of a file)'),
  suffix: A.single(A.str, 'TEXT', 'text after the cursor (with --prefix or -)'),
  'context-file': A.repeated(A.str, 'PATH', 'another file of the project for cross-file context (repeatable; its best snippets, ranked as the extension ranks them)', false),
  'context-budget': A.single(A.numberIn({ min: 0, max: 16384, integer: true, describe: 'an integer from 0 to 16384' }), 'N', `most prompt tokens the context takes (default ${DEFAULT_CONTEXT_BUDGET}, as lockstep.context.budgetTokens)`),
  path: A.single(A.str, 'PATH', 'the current file\'s path in the prompt with --prefix or - (default: untitled)'),
};

export function completeHelp(): string {
  return `Usage: lockstep complete (<file>:<line>:<col> | - | --prefix TEXT) [options]\n\nOptions:\n${A.describeOptions(completeDefs)}`;
}

function defaultDrafter(catalog: Catalog, targetSpec: string | undefined, cwd: string): string {
  const spec = targetSpec ?? 'lockstep-target';
  let entry: CatalogEntry | undefined;
  try {
    entry = entryFor(catalog, spec, resolveModelDir(spec, catalog, cwd));
  } catch {
    entry = findEntry(catalog, spec); // the target's own error comes later, from openEngine
  }
  return recommendedDrafters(catalog, entry)[0] ?? 'prompt-lookup';
}

export async function completeCommand(argv: string[], io: CliIo): Promise<number> {
  const { options: o, positionals } = A.parseArgs(argv, completeDefs);
  if (o.help) {
    io.stdout(`${completeHelp()}\n`);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`complete takes one <file>:<line>:<col>, got ${positionals.length} arguments`);
  let prompt: PromptText;
  const pos = positionals[0];
  let currentPath = o.path;
  if (pos !== undefined) {
    if (o.prefix !== undefined) throw new UsageError('give either <file>:<line>:<col> or --prefix, not both');
    if (pos === '-') {
      prompt = { label: 'stdin', before: await io.readStdin(), after: o.suffix ?? '' };
    } else if (pos.startsWith('-:')) {
      const p = parsePosition(`stdin${pos.slice(1)}`);
      if (!p) throw new UsageError(`expected -:<line>:<col>, got '${pos}'`);
      prompt = splitAtCursor(await io.readStdin(), p.line, p.col, `stdin:${p.line}:${p.col}`);
    } else {
      if (o.suffix !== undefined) throw new UsageError('--suffix goes with --prefix or -, not with a file position');
      if (o.path !== undefined) throw new UsageError('--path goes with --prefix or -: a file position is its own path');
      prompt = promptAtPosition(pos, io.cwd);
      currentPath = parsePosition(pos)?.file;
    }
  } else if (o.prefix !== undefined) {
    prompt = { label: '--prefix', before: o.prefix, after: o.suffix ?? '' };
  } else {
    throw new UsageError('nothing to complete: give <file>:<line>:<col>, - (stdin) or --prefix TEXT');
  }

  const context = cliContext({ files: o['context-file'], budgetTokens: o['context-budget'], currentPath }, prompt, io.cwd);
  const catalog = openCatalog(o.catalog, io.cwd);
  const drafter = o.drafter ?? defaultDrafter(catalog, o.target, io.cwd);
  const setup = await openEngine(o, [drafter], io.cwd);
  try {
    const plan = setup.drafters[0];
    const req: CompletionRequest = {
      before: prompt.before,
      after: prompt.after,
      drafter: plan.requestName,
      coupling: o.coupling ?? 'gumbel',
      seed: o.seed ?? 0,
      sampling: { temperature: o.temperature ?? 0.2, topP: o['top-p'] ?? 1, topK: o['top-k'] ?? 0 },
      gamma: o.gamma ?? 'auto',
      maxTokens: o['max-tokens'] ?? 64,
      mode: o.mode ?? 'block',
      ...(context === undefined ? {} : { context }),
    };
    const device = setup.engine.info().device;
    for (const line of engineNotices(setup.engine.info(), setup.targetSpec)) io.stderr(`lockstep: ${line}\n`);
    if (o.debug) for (const n of setup.engine.info().loadNotes) io.stderr(`lockstep: ${n}\n`);
    const r = await setup.engine.complete(req);
    if (r.contextNote !== undefined) io.stderr(`lockstep: ${r.contextNote}\n`);
    if (o.json) {
      io.stdout(`${JSON.stringify({
        ...r,
        device: device.used,
        drafter: plan.spec,
        target: setup.targetSpec,
        targetDir: setup.targetDir,
        position: prompt.label,
        temperature: req.sampling.temperature,
        topP: req.sampling.topP,
        topK: req.sampling.topK,
        gamma: req.gamma,
        mode: req.mode,
        maxTokens: req.maxTokens,
        contextSnippets: context?.snippets.map((x) => x.path) ?? [],
      })}\n`);
    } else {
      io.stdout(r.text);
      const sep = r.text.endsWith('\n') || r.text === '' ? '' : '\n';
      io.stderr(`${sep}${statsLine(r, plan.spec)}\n`);
    }
    if (o.debug) io.stderr(`[debug] ${JSON.stringify(setup.engine.info())}\n`);
    return 0;
  } finally {
    await setup.engine.dispose();
  }
}

function statsLine(r: CompletionResult, drafter: string): string {
  const acc = r.drafted > 0 ? `${(100 * r.acceptance).toFixed(0)}% (${r.accepted}/${r.drafted})` : 'n/a (no drafts)';
  return `[${r.tokens} tokens · ${r.tokensPerSecond.toFixed(1)} tokens/s · acceptance ${acc} · ` +
    `${r.targetCalls} target calls · drafter ${drafter} · seed ${r.seed} · stop ${r.stopReason}` +
    `${r.contextFiles === undefined ? '' : ` · context ${r.contextFiles.join(', ')} (${r.contextTokens} tokens)`}]`;
}
