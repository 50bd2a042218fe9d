/** The files the UI session edits and where it types in them. */

/** The workspace the UI session edits: accept.js for the accept/invariance checks, sample.js for the latency loop. */
export const ACCEPT_JS = [
  '// Running statistics over a stream of numbers.',
  'export class Stats {',
  '  constructor() {',
  '    this.count = 0;',
  '    this.sum = 0;',
  '  }',
  '',
  '  add(value) {',
  '    this.count += 1;',
  '    this.sum += value;',
  '  }',
  '',
  '  mean() {',
  '    ',
  '  }',
  '}',
  '',
].join('\n');
/** The cursor for the accept check: the empty line in mean(), where `return ` is typed. */
export const ACCEPT_AT = { line: 13, character: 4, type: 'return ' };

export const SAMPLE_JS = [
  "import { readFile } from 'node:fs/promises';",
  '',
  '/** Splits a CSV line into fields (no quoting). */',
  'export function splitLine(line) {',
  "  return line.split(',').map((field) => field.trim());",
  '}',
  '',
  '/** Reads a CSV file into an array of objects keyed by the header row. */',
  'export async function readCsv(path) {',
  "  const text = await readFile(path, 'utf8');",
  "  const [header, ...rows] = text.split('\\n').filter((line) => line.length > 0);",
  '  const keys = splitLine(header);',
  '  return rows.map((row) => {',
  '    const values = splitLine(row);',
  '    return Object.fromEntries(keys.map((key, i) => [key, values[i]]));',
  '  });',
  '}',
  '',
  'export function sum(values) {',
  '  let total = 0;',
  '  for (const v of values) total += v;',
  '  return total;',
  '}',
  '',
].join('\n');
/** Lines of SAMPLE_JS after which a line is opened (Enter, with the editor's auto-indent) and a prefix typed. */
export const TRIGGER_SITES = [3, 5, 8, 11, 13, 16, 18, 21, 22];
export const TRIGGER_PREFIXES = [
  'const average = ',
  'function max(values) {',
  'const names = rows.map((row) => ',
  'if (values.length === 0) ',
  'export function count(items) {',
  'const first = ',
  'for (const key of keys) ',
  'let result = ',
  '// Returns the ',
  'const isEmpty = (list) => ',
  'export function mean(values) {',
  'const last = values[',
];
