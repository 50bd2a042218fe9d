/**
 * What every surface (the editor, the CLI, the demo, the server) tells a user about the model in use: that a demo
 * model is a demo and how to get a real one, and that a file's language is outside what a model was trained on.
 * The wording lives here once so that the surfaces agree.
 */
import type { CatalogEntry } from './catalogTypes';

/** The catalog id a user is pointed to for real completions (the catalog's Qwen2.5-Coder target). */
export const REAL_MODEL_ID = 'qwen2.5-coder-1.5b';

/** True for a catalog entry marked `"demo": true` (the bundled 7M models). */
export function isDemoModel(entry: CatalogEntry | undefined): boolean {
  return entry?.demo === true;
}

/** "7.3M-parameter " from an entry's `parameters` (empty when absent). */
function sizeWords(entry: CatalogEntry): string {
  const p = entry.parameters;
  if (typeof p !== 'number' || !(p > 0)) return '';
  return p >= 1e9 ? `${(p / 1e9).toFixed(1)}B-parameter ` : `${(p / 1e6).toFixed(1)}M-parameter `;
}

/** "JavaScript/TypeScript" style names of an entry's languages (undefined: any language). */
export function languageNames(entry: CatalogEntry | undefined): string | undefined {
  const ids = entry?.languages;
  if (ids === undefined) return undefined;
  const names = new Set(ids.map((id) => LANGUAGE_NAMES[id] ?? id));
  return [...names].join('/');
}

const LANGUAGE_NAMES: Record<string, string> = {
  javascript: 'JavaScript', javascriptreact: 'JavaScript', typescript: 'TypeScript', typescriptreact: 'TypeScript',
  python: 'Python', go: 'Go', rust: 'Rust', java: 'Java', c: 'C', cpp: 'C++', csharp: 'C#',
};

/** One short line for a stats line or a status tooltip: "demo model of 7.3M parameters: shows the engine, not useful code". */
export function demoLabel(entry: CatalogEntry): string {
  const size = sizeWords(entry).replace('-parameter ', ' parameters');
  return `demo model${size === '' ? '' : ` of ${size.trim()}`}: shows the engine, not useful code`;
}

/**
 * The full notice for a demo target; `how` says how to get the real model on this surface (a CLI command, an
 * editor command). Undefined for any other model.
 */
export function demoNotice(entry: CatalogEntry | undefined, how: 'cli' | 'editor'): string | undefined {
  if (!isDemoModel(entry)) return undefined;
  const e = entry as CatalogEntry;
  const langs = languageNames(e);
  const what = `${e.id} is a ${sizeWords(e)}demo of the engine${langs === undefined ? '' : ` trained on ${langs} only`}: its completions show how Lockstep works, not useful code.`;
  const next = how === 'cli'
    ? `For real completions: lockstep download ${REAL_MODEL_ID}, then --target ${REAL_MODEL_ID} (docs/models.md).`
    : `For real completions, set up Qwen2.5-Coder (Lockstep: Set Up a Model).`;
  return `${what} ${next}`;
}

/**
 * Why a model should not complete a document of `languageId` (undefined when it may): the entry lists the languages
 * it was trained on and this is not one of them. An entry without `languages` takes every language. `how`: what the
 * surface does about it (the editor does not complete; the CLI completes and warns).
 */
export function languageMismatch(entry: CatalogEntry | undefined, languageId: string, how: 'cli' | 'editor' = 'editor'): string | undefined {
  const ids = entry?.languages;
  if (entry === undefined || ids === undefined || ids.includes(languageId)) return undefined;
  const what = `${entry.id} was trained on ${languageNames(entry)} only, not ${LANGUAGE_NAMES[languageId] ?? languageId}: it would write the wrong language here`;
  // The editor completes on its own, so it holds back; the CLI was asked for this file, so it completes and warns.
  return how === 'editor' ? `${what}, so Lockstep does not complete ${languageId} files with it.` : `${what} (completing anyway, as asked).`;
}
