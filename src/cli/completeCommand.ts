/**
 * `lockstep complete (<file>:<line>:<col> | - | -:<line>:<col> | --prefix TEXT | --request FILE) [options]`: one
 * completion at a cursor, or one request given whole as JSON (what `lockstep serve` ran).
 * The text goes to stdout and a stats line to stderr (or one JSON object with --json).
 */
import { CompletionRequest } from '../engine/process/engine';
import { DEFAULT_COUPLING } from '../engine/decode/couplings/registry';
import { DRAFTER_USAGE } from '../engine/decode/drafters/drafterSpec';
import { Catalog, CatalogEntry, findEntry, resolveModelDir } from '../models/catalog';
import { languageMismatch } from '../models/modelNotices';
import * as A from './args';
import { UsageError } from './args';
import { completeInput } from './completeInput';
import { requestInput } from './requestInput';
import type { RequestDefaults } from '../engine/request/requestJson';
import { printCompletion } from './completeOutput';
import { DEFAULT_CONTEXT_BUDGET, cliContext } from './contextFiles';
import { engineNotices, entryFor, openCatalog, openEngine, recommendedDrafters } from './engineOpen';
import { CliIo, EXIT_STATUS_HELP } from './io';
import { languageIdOf } from './language';
import { commonDefs, generationDefs } from './options';

const completeDefs = {
  ...commonDefs,
  drafter: A.single(A.str, 'DRAFTER', `${DRAFTER_USAGE} (default: the target's first recommended drafter)`),
  ...generationDefs,
  prefix: A.single(A.str, 'TEXT', "text before the cursor, taken literally (\\n is a backslash and an n: write $'a\\nb' in bash/zsh, or use --prefix-file)"),
  'prefix-file': A.single(A.str, 'FILE', 'read the text before the cursor from FILE (- = stdin): any size, any line breaks'),
  suffix: A.single(A.str, 'TEXT', 'text after the cursor, taken literally (with --prefix, --prefix-file or -)'),
  'suffix-file': A.single(A.str, 'FILE', 'read the text after the cursor from FILE (- = stdin)'),
  'context-file': A.repeated(A.str, 'PATH', 'another file of the project for cross-file context (repeatable; its best snippets, ranked as the extension ranks them)', false),
  'context-budget': A.single(A.numberIn({ min: 0, max: 16384, integer: true, describe: 'an integer from 0 to 16384' }), 'N', `most prompt tokens the context takes (default ${DEFAULT_CONTEXT_BUDGET}, as lockstep.context.budgetTokens)`),
  path: A.single(A.str, 'PATH', 'the current file\'s path in the prompt with --prefix, --prefix-file or - (default: the --prefix-file, else untitled)'),
  request: A.single(A.str, 'FILE', 'the whole request as JSON (- = stdin), as `lockstep serve` answers it in lockstep.request: same bytes as the server gave'),
};

export function completeHelp(): string {
  return 'Usage: lockstep complete (<file>:<line>:<col> | - | -:<line>:<col> | --prefix TEXT | --prefix-file FILE | --request FILE) [options]\n\n' +
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

type CompleteOptions = A.ParsedOptions<typeof completeDefs>;

/** The request: from --request FILE as it is, else from the cursor's text and the flags (the drafter as a spec). */
async function requestOf(o: CompleteOptions, pos: string | undefined, io: CliIo, catalog: Catalog): Promise<{ req: CompletionRequest; label: string; currentPath?: string }> {
  const defaults = {
    drafter: o.drafter ?? defaultDrafter(catalog, o.target, io.cwd),
    coupling: o.coupling ?? DEFAULT_COUPLING,
    seed: o.seed ?? 0,
    sampling: { temperature: o.temperature ?? 0.2, topP: o['top-p'] ?? 1, topK: o['top-k'] ?? 0 },
    gamma: o.gamma ?? 'auto',
    maxTokens: o['max-tokens'] ?? 64,
    mode: o.mode ?? 'block',
  } satisfies RequestDefaults;
  if (o.request !== undefined) {
    const req = await requestInput(o.request, o, pos, io, defaults);
    return { req, label: `--request ${o.request}`, currentPath: req.context?.path };
  }
  const { prompt, currentPath, notes } = await completeInput(pos, o, io);
  for (const n of notes) io.stderr(`lockstep: ${n}\n`);
  const context = cliContext({ files: o['context-file'], budgetTokens: o['context-budget'], currentPath }, prompt, io.cwd);
  const req: CompletionRequest = { ...defaults, before: prompt.before, after: prompt.after, ...(context === undefined ? {} : { context }) };
  return { req, label: prompt.label, currentPath };
}

export async function completeCommand(argv: string[], io: CliIo): Promise<number> {
  const { options: o, positionals } = A.parseArgs(argv, completeDefs);
  if (o.help) {
    io.stdout(`${completeHelp()}\n`);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`complete takes one <file>:<line>:<col>, got ${positionals.length} arguments`);
  const catalog = openCatalog(o.catalog, io.cwd);
  const { req: asked, label, currentPath } = await requestOf(o, positionals[0], io, catalog);
  const setup = await openEngine(o, [asked.drafter], io.cwd);
  try {
    const plan = setup.drafters[0];
    const req: CompletionRequest = { ...asked, drafter: plan.requestName };
    const context = req.context;
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
      targetEntry: setup.targetEntry, position: label, contextSnippets: context?.snippets.map((x) => x.path) ?? [],
    }, o.json);
    if (o.debug) io.stderr(`[debug] ${JSON.stringify(setup.engine.info())}\n`);
    return 0;
  } finally {
    await setup.engine.dispose();
  }
}
