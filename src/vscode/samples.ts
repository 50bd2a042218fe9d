/** The sample documents of Lockstep: Try a Completion (no `vscode` import: unit-tested as it is). */

/** The cursor goes where `|` is (removed from the text). */
export const SAMPLES: Record<string, string> = {
  python: 'def fibonacci(n: int) -> int:\n    """Return the n-th Fibonacci number (fibonacci(0) == 0)."""\n    |\n',
  javascript: '/** The n-th Fibonacci number (fibonacci(0) === 0). */\nfunction fibonacci(n) {\n  |\n}\n',
  typescript: '/** The n-th Fibonacci number (fibonacci(0) === 0). */\nexport function fibonacci(n: number): number {\n  |\n}\n',
};

/** The sample's language: the active editor's when there is a sample for it and the model takes it, else the model's first, else Python. */
export function sampleLanguage(active: string | undefined, modelLanguages: readonly string[] | undefined): string {
  const takes = (l: string) => modelLanguages === undefined || modelLanguages.includes(l);
  if (active !== undefined && SAMPLES[active] !== undefined && takes(active)) return active;
  const first = modelLanguages?.find((l) => SAMPLES[l] !== undefined);
  return first ?? 'python';
}
