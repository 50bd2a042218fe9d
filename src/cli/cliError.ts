/** The CLI's error for mistakes the user can fix (its own module: io.ts and textInput.ts both use it). */

/** An error the user caused or can fix; printed without a stack. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}
