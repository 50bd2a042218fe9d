/**
 * A file's language as VS Code names it (its languageId), from the file name alone: the CLI has no editor to ask, and
 * the catalog's `languages` and modelNotices.languageMismatch speak in languageIds. An extension not listed here
 * gives undefined: the CLI then says nothing rather than guess.
 */
import * as path from 'node:path';

const BY_EXTENSION: Readonly<Record<string, string>> = {
  '.js': 'javascript', '.mjs': 'javascript', '.cjs': 'javascript', '.jsx': 'javascriptreact',
  '.ts': 'typescript', '.mts': 'typescript', '.cts': 'typescript', '.tsx': 'typescriptreact',
  '.py': 'python', '.pyi': 'python', '.go': 'go', '.rs': 'rust', '.java': 'java',
  '.c': 'c', '.h': 'c', '.cc': 'cpp', '.cpp': 'cpp', '.cxx': 'cpp', '.hpp': 'cpp', '.hh': 'cpp', '.cs': 'csharp',
  '.rb': 'ruby', '.php': 'php', '.swift': 'swift', '.kt': 'kotlin', '.kts': 'kotlin', '.scala': 'scala',
  '.sh': 'shellscript', '.bash': 'shellscript', '.lua': 'lua', '.r': 'r', '.sql': 'sql', '.dart': 'dart',
  '.html': 'html', '.css': 'css', '.scss': 'scss', '.json': 'json', '.md': 'markdown', '.yaml': 'yaml', '.yml': 'yaml',
};

/** The languageId of `file` by its extension, or undefined when the extension is not a known one. */
export function languageIdOf(file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  return BY_EXTENSION[path.extname(file).toLowerCase()];
}
