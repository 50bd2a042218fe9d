/**
 * The `lockstep` commands of a Markdown file's code blocks, split into words as bash would split them — enough of
 * bash for documentation: '…', "…", $'…' (ANSI-C escapes), backslashes, line continuations and `#` comments. What a
 * test cannot run as written is flagged rather than guessed at: an unquoted $VARIABLE, a <placeholder>, a pipe,
 * redirection or a second command.
 */

export interface ReadmeCommand {
  /** 1-based line of the command's first line in the file. */
  line: number;
  /** The command as written (continuation lines joined with '\n'). */
  source: string;
  /** The arguments after `lockstep` (after `npm run lockstep --`), as the CLI receives them. */
  args: string[];
  /** Why the words cannot be taken literally, when they cannot (a variable, a placeholder, a pipe …). */
  unliteral?: string;
}

const COMMAND = /^\s*(?:\$\s+)?(npx lockstep|lockstep|npm run lockstep)(?=\s|$)/;

/** Every command line in the fenced code blocks of `markdown` that starts with lockstep / npx lockstep / npm run lockstep. */
export function readmeCommands(markdown: string): ReadmeCommand[] {
  const lines = markdown.split('\n');
  const out: ReadmeCommand[] = [];
  let fence: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*(`{3,}|~{3,})/.exec(lines[i]);
    if (m) {
      if (fence === undefined) fence = m[1][0];
      else if (m[1][0] === fence) fence = undefined;
      continue;
    }
    if (fence === undefined || !COMMAND.test(lines[i])) continue;
    let source = lines[i];
    const first = i;
    while (/(^|[^\\])(\\\\)*\\$/.test(lines[i]) && i + 1 < lines.length) source += `\n${lines[++i]}`;
    const words = shellWords(source);
    const head = COMMAND.exec(source)![1];
    let args = words.words.slice(head.split(' ').length);
    if (head === 'npm run lockstep') {
      // npm passes on only what follows `--`.
      args = args[0] === '--' ? args.slice(1) : [];
    }
    out.push({ line: first + 1, source, args, ...(words.unliteral === undefined ? {} : { unliteral: words.unliteral }) });
  }
  return out;
}

const ANSI_C: Readonly<Record<string, string>> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', e: '\x1b', f: '\f', v: '\v', '0': '\0' };

/** `text` split into words as bash splits a simple command, with the first reason it is not literal, if any. */
export function shellWords(text: string): { words: string[]; unliteral?: string } {
  const words: string[] = [];
  let unliteral: string | undefined;
  const flag = (why: string): void => void (unliteral ??= why);
  let word: string | undefined;
  let i = 0;
  const add = (s: string): void => void (word = (word ?? '') + s);
  while (i < text.length) {
    const c = text[i];
    if (c === '\\' && text[i + 1] === '\n') {
      i += 2; // a line continuation joins the lines
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
      i++;
    } else if (c === '#' && word === undefined) {
      while (i < text.length && text[i] !== '\n') i++; // a comment runs to the end of its line
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated ' in ${text}`);
      add(text.slice(i + 1, end));
      i = end + 1;
    } else if (c === '$' && text[i + 1] === "'") {
      i += 2;
      let s = '';
      while (i < text.length && text[i] !== "'") {
        if (text[i] === '\\') {
          const e = text[i + 1];
          const hex = /^x([0-9a-fA-F]{1,2})/.exec(text.slice(i + 1));
          if (hex) {
            s += String.fromCharCode(parseInt(hex[1], 16));
            i += 1 + hex[0].length;
            continue;
          }
          s += ANSI_C[e] ?? `\\${e}`;
          i += 2;
        } else s += text[i++];
      }
      if (i >= text.length) throw new Error(`unterminated $' in ${text}`);
      add(s);
      i++;
    } else if (c === '"') {
      i++;
      let s = '';
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && /["\\$`\n]/.test(text[i + 1])) {
          if (text[i + 1] !== '\n') s += text[i + 1];
          i += 2;
        } else {
          if (text[i] === '$' || text[i] === '`') flag('a shell expansion inside "…"');
          s += text[i++];
        }
      }
      if (i >= text.length) throw new Error(`unterminated " in ${text}`);
      add(s);
      i++;
    } else if (c === '\\') {
      add(text[i + 1] ?? '');
      i += 2;
    } else {
      if (c === '$' || c === '`') flag(`a shell expansion (${text.slice(i).split(/[\s/]/)[0]})`);
      else if (c === '~' && word === undefined) flag('a ~ path');
      else if (c === '<' && /^<[^\s>]+>/.test(text.slice(i))) flag(`a placeholder (${/^<[^>]+>/.exec(text.slice(i))![0]})`);
      else if ('|;&<>()'.includes(c)) flag(`shell syntax (${c})`);
      add(c);
      i++;
    }
  }
  if (word !== undefined) words.push(word);
  return unliteral === undefined ? { words } : { words, unliteral };
}
