/**
 * `lockstep complete (<file>:<line>:<col> | - | -:<line>:<col> | --prefix TEXT) [options]`: one completion at a cursor.
 * The text goes to stdout and a stats line to stderr (or one JSON object with --json).
 */
import { CompletionRequest } from '../engine/engine';
import { Catalog, CatalogEntry, findEntry, resolveModelDir } from '../models/catalog';
import { languageMismatch } from '../models/modelNotices';
import * as A from './args';
import { UsageError } from './args';
import { completeInput } from './completeInput';
import { printCompletion } from './completeOutput';
import { DEFAULT_CONTEXT_BUDGET, cliContext } from './contextFiles';
import { engineNotices, entryFor, openCatalog, openEngine, recommendedDrafters } from './engineOpen';
import { CliIo, EXIT_STATUS_HELP } from './io';
import { languageIdOf } from './language';
import { COUPLINGS, commonDefs } from './options';

const completeDefs = {
  ...commonDefs,
  drafter: A.single(A.str, 'DRAFTER', 'none | prompt-lookup | catalog id | directory | prompt-lookup+<id> (default: the target\'s first recommended drafter)'),
  seed: A.single(A.seed, 'N', 'public-randomness seed (default 0)'),
  temperature: A.single(A.temperature, 'T', 'sampling temperature; 0, or anything below 1e-6, = greedy (default 0.2)'),
  gamma: A.single(A.gamma, 'G', 'drafts per round, 0..32 or auto (default auto)'),
  coupling: A.single(A.choice(COUPLINGS), 'KIND', 'gumbel | wmh | standard (default gumbel)'),
  prefix: A.single(A.str, 'TEXT', "text before the cursor, taken literally (\\n is a backslash and an n: write $'a\\nb' in bash/zsh, or use --prefix-file)"),
  'prefix-file': A.single(A.str, 'FILE', 'read the text before the cursor from FILE (- = stdin): any size, any line breaks'),
  suffix: A.single(A.str, 'TEXT', 'text after the cursor, taken literally (with --prefix, --prefix-file or -)'),
  'suffix-file': A.single(A.str, 'FILE', 'read the text after the cursor from FILE (- = stdin)'),
  'context-file': A.repeated(A.str, 'PATH', 'another file of the project for cross-file context (repeatable; its best snippets, ranked as the extension ranks them)', false),
  'context-budget': A.single(A.numberIn({ min: 0, max: 16384, integer: true, describe: 'an integer from 0 to 16384' }), 'N', `most prompt tokens the context takes (default ${DEFAULT_CONTEXT_BUDGET}, as lockstep.context.budgetTokens)`),
  path: A.single(A.str, 'PATH', 'the current file\'s path in the prompt with --prefix, --prefix-file or - (default: the --prefix-file, else untitled)'),
};

export function completeHelp(): string {
  return 'Usage: lockstep complete (<file>:<line>:<col> | - | -:<line>:<col> | --prefix TEXT | --prefix-file FILE) [options]\n\n' +
    'The completion goes to stdout and a stats line to stderr; an empty completion prints (empty completion) on\n' +
    'stderr. Input is read as UTF-8: a file, --prefix-file, --suffix-file or stdin that is not UTF-8 is refused (exit 1),\n' +
    'never decoded with replacement characters. A file whose language the target was not trained on (catalog\n' +
    '"languages") is completed with one warning on stderr.\n\n' +
    `Options:\n${A.describeOptions(completeDefs)}\n\n${EXIT_STATUS_HELP}`;
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
  const { prompt, currentPath, notes } = await completeInput(positionals[0], o, io);
  for (const n of notes) io.stderr(`lockstep: ${n}\n`);

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
    // The editor does not complete a language the target was not trained on; the CLI was asked explicitly, so it
    // completes, after saying once why the text may come out in the wrong language. An unknown extension says nothing.
    const language = languageIdOf(currentPath);
    const mismatch = language === undefined ? undefined : languageMismatch(setup.targetEntry, language, 'cli');
    if (mismatch !== undefined) io.stderr(`lockstep: warning: ${mismatch}\n`);
    if (o.debug) for (const n of setup.engine.info().loadNotes) io.stderr(`lockstep: ${n}\n`);
    const r = await setup.engine.complete(req);
    if (r.contextNote !== undefined) io.stderr(`lockstep: ${r.contextNote}\n`);
    printCompletion(io, {
      result: r, request: req, drafter: plan.spec, device: device.used, targetSpec: setup.targetSpec, targetDir: setup.targetDir,
      targetEntry: setup.targetEntry, position: prompt.label, contextSnippets: context?.snippets.map((x) => x.path) ?? [],
    }, o.json);
    if (o.debug) io.stderr(`[debug] ${JSON.stringify(setup.engine.info())}\n`);
    return 0;
  } finally {
    await setup.engine.dispose();
  }
}
