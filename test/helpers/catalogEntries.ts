/**
 * Catalog examples for the catalog tests: a downloadable (Hub) entry with files, variants and pins, a bundled entry,
 * a catalog of given entries, and the shipped models.json read afresh (each call a new object to change).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../../src/models/catalog';

/** models.json as JSON: entries stay open to any change a test makes. */
export interface CatalogJson {
  $schema: string;
  version: number;
  models: { id: string; [field: string]: unknown }[];
}

/** The shipped models.json, parsed anew on every call. */
export const shipped = (): CatalogJson => JSON.parse(fs.readFileSync(path.join(packageRoot(), 'models.json'), 'utf8'));

/** A valid downloadable entry: common files (one pinned, one optional), two variants, a default variant, an extra field. */
export const hubEntry = () => ({
  id: 'hub-model', role: 'target', family: 'qwen2.5-coder', repo: 'org/Model-1.5B', commit: 'main', verify: 'on-first-download',
  files: ['config.json', { path: 'tokenizer.json', size: 7031645, sha256: 'a'.repeat(64) }, { path: 'generation_config.json', optional: true }],
  variants: { q4f16: { approxBytes: 10, files: [{ path: 'onnx/model_q4f16.onnx', size: null, sha256: null }] }, int8: { files: ['onnx/model_int8.onnx'] } },
  defaultVariant: 'q4f16', license: 'kept as is',
});
/** A catalog (version 1) of these entries. */
export const catalogOf = (...models: unknown[]) => ({ version: 1, models });
/** A valid bundled drafter entry with the id "small". */
export const bundledEntry = () => ({ id: 'small', role: 'drafter', family: 'fam', bundled: 'models/lockstep-drafter-a' });
