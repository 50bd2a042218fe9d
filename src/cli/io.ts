/**
 * The CLI's I/O and errors: where a command writes (process streams, or captured in tests and the demo), the error
 * type for mistakes the user can fix, and the one-line form every error message is printed in.
 */
import { decodeUtf8 } from './textInput';

export { CliError } from './cliError';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Reads all of standard input (for `complete -`, --prefix-file -, --suffix-file -); refuses bytes that are not UTF-8. */
  readStdin(): Promise<string>;
  cwd: string;
}

/**
 * The exit statuses, as every command's --help lists them. Usage (2): the command line is wrong and running it again
 * as it is cannot work; runtime (1): the command was right and something it met failed.
 */
export const EXIT_USAGE = 2;
export const EXIT_RUNTIME = 1;
export const EXIT_STATUS_HELP = `Exit status:
  0  success
  1  runtime failure: a file that cannot be read or is not UTF-8, a broken or not downloaded model, a failed download
  2  usage: an unknown command or option, a bad option value, an unknown model id or variant, a cursor outside the file`;

export function processIo(): CliIo {
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    readStdin: () =>
      new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        process.stdin.on('data', (c: Buffer) => chunks.push(c));
        process.stdin.on('end', () => {
          try {
            resolve(decodeUtf8(Buffer.concat(chunks), 'stdin'));
          } catch (e) {
            reject(e);
          }
        });
        process.stdin.on('error', reject);
      }),
    cwd: process.cwd(),
  };
}

/** A message on one line (main() prints every error as `lockstep: <one line>`). */
export function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim() || 'unknown error';
}
