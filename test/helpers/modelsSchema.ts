/**
 * models.schema.json, and a small JSON Schema (draft-07) evaluator to check catalogs against it: enough for the
 * keywords the schema uses; an unknown keyword fails loudly so a test cannot pass vacuously.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../../src/models/catalog';

export type Schema = boolean | { [k: string]: unknown };

/** The shipped models.schema.json. */
export const schema = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'models.schema.json'), 'utf8')) as Schema;

const KNOWN = new Set([
  '$schema', '$ref', 'title', 'description', 'type', 'const', 'enum', 'pattern', 'minLength', 'minimum', 'required',
  'properties', 'additionalProperties', 'propertyNames', 'minProperties', 'items', 'minItems', 'anyOf', 'oneOf', 'allOf',
  'not', 'dependencies', 'definitions',
]);

function typeOk(v: unknown, t: string): boolean {
  switch (t) {
    case 'null': return v === null;
    case 'boolean': return typeof v === 'boolean';
    case 'string': return typeof v === 'string';
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    case 'integer': return typeof v === 'number' && Number.isInteger(v);
    case 'array': return Array.isArray(v);
    case 'object': return typeof v === 'object' && v !== null && !Array.isArray(v);
    default: throw new Error(`unknown type ${t}`);
  }
}

/** Whether `v` is valid against `s` ($ref resolved in `rootSchema`). */
export function valid(s: Schema, v: unknown, rootSchema: Schema = schema): boolean {
  if (s === true) return true;
  if (s === false) return false;
  for (const k of Object.keys(s)) if (!KNOWN.has(k)) throw new Error(`schema keyword ${k} not supported by the test evaluator`);
  const sub = (x: unknown, val: unknown) => valid(x as Schema, val, rootSchema);
  if (typeof s.$ref === 'string') {
    const m = /^#\/definitions\/(.+)$/.exec(s.$ref);
    if (!m) throw new Error(`unsupported $ref ${s.$ref}`);
    if (!sub(((rootSchema as Record<string, Record<string, unknown>>).definitions)[m[1]], v)) return false;
  }
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    if (!types.some((t) => typeOk(v, t))) return false;
  }
  if ('const' in s && JSON.stringify(s.const) !== JSON.stringify(v)) return false;
  if (Array.isArray(s.enum) && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(v))) return false;
  if (typeof v === 'string') {
    if (typeof s.pattern === 'string' && !new RegExp(s.pattern, 'u').test(v)) return false;
    if (typeof s.minLength === 'number' && [...v].length < s.minLength) return false;
  }
  if (typeof v === 'number' && typeof s.minimum === 'number' && v < s.minimum) return false;
  if (Array.isArray(v)) {
    if (typeof s.minItems === 'number' && v.length < s.minItems) return false;
    if (s.items !== undefined && !v.every((x) => sub(s.items, x))) return false;
  }
  if (typeOk(v, 'object')) {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (Array.isArray(s.required) && !s.required.every((k) => k in o)) return false;
    if (typeof s.minProperties === 'number' && keys.length < s.minProperties) return false;
    if (s.propertyNames !== undefined && !keys.every((k) => sub(s.propertyNames, k))) return false;
    const props = (s.properties ?? {}) as Record<string, Schema>;
    for (const k of keys) {
      if (k in props) {
        if (!sub(props[k], o[k])) return false;
      } else if (s.additionalProperties !== undefined && !sub(s.additionalProperties, o[k])) {
        return false;
      }
    }
    for (const [k, dep] of Object.entries((s.dependencies ?? {}) as Record<string, unknown>)) {
      if (!(k in o)) continue;
      if (Array.isArray(dep) ? !dep.every((d) => d in o) : !sub(dep, o)) return false;
    }
  }
  if (Array.isArray(s.allOf) && !s.allOf.every((x) => sub(x, v))) return false;
  if (Array.isArray(s.anyOf) && !s.anyOf.some((x) => sub(x, v))) return false;
  if (Array.isArray(s.oneOf) && s.oneOf.filter((x) => sub(x, v)).length !== 1) return false;
  if (s.not !== undefined && sub(s.not, v)) return false;
  return true;
}
