/**
 * The CLI's I/O and errors: where a command writes (process streams, or captured in tests and the demo), the error
 * type for mistakes the user can fix, and the one-line form every error message is printed in.
 */

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Reads all of standard input (for `complete -`). */
  readStdin(): Promise<string>;
  cwd: string;
}

export function processIo(): CliIo {
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    readStdin: () =>
      new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        process.stdin.on('data', (c: Buffer) => chunks.push(c));
        process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        process.stdin.on('error', reject);
      }),
    cwd: process.cwd(),
  };
}

/** An error the user caused or can fix; printed without a stack. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

/** A message on one line (main() prints every error as `lockstep: <one line>`). */
export function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim() || 'unknown error';
}
