/**
 * Where `lockstep complete` takes the text around the cursor from: a file position, stdin (`-`, `-:<line>:<col>`),
 * `--prefix TEXT` / `--prefix-file FILE` for the text before the cursor and `--suffix TEXT` / `--suffix-file FILE` for
 * the text after it (FILE `-` = stdin). Exactly one source for each side; stdin is read once at most.
 *
 * --prefix and --suffix are taken literally, as every Unix tool takes its arguments: `\n` is a backslash and an n.
 * A line break comes from the shell ($'…\n…' in bash and zsh) or from a file; a --prefix holding `\n` but no line
 * break is almost always that mistake, so it earns one note on stderr (the text is still used as written).
 */
import { UsageError } from './args';
import { CliIo } from './io';
import { PromptText, parsePosition, promptAtPosition, splitAtCursor } from './prompts';
import { readTextFile } from './textInput';

export interface InputOptions {
  prefix?: string;
  suffix?: string;
  'prefix-file'?: string;
  'suffix-file'?: string;
  path?: string;
}

export interface CompleteInput {
  prompt: PromptText;
  /** The current file's path (for the context's prompt and the language check), when one is known. */
  currentPath?: string;
  /** One-line notes for stderr (without the `lockstep: ` prefix). */
  notes: string[];
}

export async function completeInput(pos: string | undefined, o: InputOptions, io: CliIo): Promise<CompleteInput> {
  const befores = [pos !== undefined && 'a position', o.prefix !== undefined && '--prefix', o['prefix-file'] !== undefined && '--prefix-file'].filter(
    (x): x is string => x !== false,
  );
  if (befores.length === 0) throw new UsageError('nothing to complete: give <file>:<line>:<col>, - (stdin), --prefix TEXT or --prefix-file FILE');
  if (befores.length > 1) throw new UsageError(`give one of <file>:<line>:<col>, -, --prefix or --prefix-file, not ${befores.join(' and ')}`);
  if (o.suffix !== undefined && o['suffix-file'] !== undefined) throw new UsageError('give --suffix or --suffix-file, not both');
  const stdinUsers = [pos === '-' || pos?.startsWith('-:') ? pos : undefined, o['prefix-file'] === '-' ? '--prefix-file -' : undefined,
    o['suffix-file'] === '-' ? '--suffix-file -' : undefined].filter((x): x is string => x !== undefined);
  if (stdinUsers.length > 1) throw new UsageError(`stdin can be read once: ${stdinUsers.join(' and ')} both ask for it`);

  const read = (file: string): Promise<string> => (file === '-' ? io.readStdin() : Promise.resolve(readTextFile(file, io.cwd)));
  const hasSuffix = o.suffix !== undefined || o['suffix-file'] !== undefined;
  const suffix = async (): Promise<string> => (o['suffix-file'] !== undefined ? read(o['suffix-file']) : o.suffix ?? '');
  const notes = [...literalEscapeNote('--prefix', o.prefix), ...literalEscapeNote('--suffix', o.suffix)];

  if (pos !== undefined && pos !== '-') {
    // A position in a file or in stdin: the text after the cursor is the rest of that text.
    if (hasSuffix) throw new UsageError('--suffix and --suffix-file go with -, --prefix or --prefix-file: a position has its own text after the cursor');
    if (pos.startsWith('-:')) {
      const p = parsePosition(`stdin${pos.slice(1)}`);
      if (!p) throw new UsageError(`expected -:<line>:<col>, got '${pos}'`);
      return { prompt: splitAtCursor(await io.readStdin(), p.line, p.col, `stdin:${p.line}:${p.col}`), currentPath: o.path, notes };
    }
    if (o.path !== undefined) throw new UsageError('--path goes with --prefix, --prefix-file or -: a file position is its own path');
    return { prompt: promptAtPosition(pos, io.cwd), currentPath: parsePosition(pos)?.file, notes };
  }
  if (pos === '-') return { prompt: { label: 'stdin', before: await io.readStdin(), after: await suffix() }, currentPath: o.path, notes };
  const file = o['prefix-file'];
  if (file !== undefined) {
    const before = await read(file);
    // The file holding the text before the cursor is, unless --path says otherwise, the current file.
    return { prompt: { label: `--prefix-file ${file}`, before, after: await suffix() }, currentPath: o.path ?? (file === '-' ? undefined : file), notes };
  }
  return { prompt: { label: '--prefix', before: o.prefix ?? '', after: await suffix() }, currentPath: o.path, notes };
}

/** The note for a --prefix/--suffix that holds a literal `\n` (backslash, n) and no line break. */
function literalEscapeNote(flag: string, text: string | undefined): string[] {
  if (text === undefined || !text.includes('\\n') || text.includes('\n')) return [];
  return [`note: ${flag} holds \\n as two characters (a backslash and an n) and no line break; it is used as written. ` +
    `For line breaks: ${flag} $'a\\nb' (bash, zsh) or ${flag}-file FILE`];
}
