/**
 * The options of each `lockstep bench` sub-command (bench/cli.ts dispatches them): the options every benchmark takes
 * (models, device, output, figures) and each benchmark's own, with their defaults in the help text.
 */
import * as A from '../src/cli/args';
import { DEVICE_REQUESTS } from '../src/engine/runtime/device';
import { commonDefs } from '../src/cli/options';
import { COUPLING_IDS, DEFAULT_COUPLING, INVARIANT_COUPLINGS } from '../src/engine/decode/couplings/registry';
import { DRAFTER_USAGE } from '../src/engine/decode/drafters/drafterSpec';
import { COUPLING_DEFAULTS } from './coupling/coupling';
import { INVARIANCE_DEFAULTS } from './coupling/invariance';
import { LATENCY_DEFAULTS } from './speed/latency';
import { BREAKDOWN_DEFAULTS } from './speed/breakdown';
import { CALLCOST_DEFAULTS } from './speed/callCost';
import { OVERHEAD_DEFAULTS } from './speed/overhead';
import { PEER_DEFAULTS } from './peer/peer';
import { QUALITY_DEFAULTS, QUALITY_QUICK } from './quality/quality';
import { SOAK_DEFAULTS, SOAK_QUICK } from './soak/types';
import { SPEED_DEFAULTS } from './speed/speed';

const MODES = ['line', 'block', 'free'] as const;

export const common = {
  help: A.flag('show this help', 'h'),
  debug: A.flag('print stack traces on errors'),
  json: A.flag('print one JSON object (with a `rows` array) instead of the table'),
  quick: A.flag('a small, fast run (smoke test; default --out .bench-results/quick, figures in <out>/figures)'),
  out: A.single(A.str, 'DIR', 'where the JSON results go (default .bench-results, or .bench-results/quick with --quick)'),
  media: A.single(A.str, 'DIR', 'where the figures go (default media, or <out>/figures with --quick)'),
  'no-figures': A.flag('do not draw figures'),
  png: A.flag('also write a PNG of each figure (needs rsvg-convert, Debian package librsvg2-bin)'),
  note: A.single(A.str, 'TEXT', 'an extra line under each figure\'s title (e.g. which weights were measured)'),
  quiet: A.flag('no progress lines on stderr'),
  catalog: A.single(A.str, 'FILE', 'model catalog (default: models.json of the package)'),
  target: A.single(A.str, 'MODEL', 'target model: catalog id or model directory (default lockstep-target)'),
  'no-fused': A.flag('on the CPU, load fp32 files as they are (default: their fused-operator copy, src/engine/runtime/fusedModel.ts)'),
  variant: commonDefs.variant,
  'drafter-variant': commonDefs['drafter-variant'],
  threads: A.single(A.threads, 'N', 'intra-op threads per model (0 = onnxruntime default)'),
  device: A.single(A.choice(DEVICE_REQUESTS), 'DEVICE', 'execution device for speed and invariance: auto | cpu | webgpu | cuda | dml | coreml (default cpu)'),
  fim: A.single(A.str, 'NAME', 'FIM template (default: from the catalog or the tokenizer)'),
};

export const speedDefs = {
  ...common,
  drafter: A.repeated(A.str, 'DRAFTER', `drafters (repeatable or comma list; ${DRAFTER_USAGE}; default: prompt-lookup, every model drafter, prompt-lookup+<recommended>)`),
  coupling: A.repeated(A.choice(COUPLING_IDS), 'KIND', `couplings (repeatable; default ${SPEED_DEFAULTS.couplings.join(',')})`),
  gamma: A.repeated(A.gamma, 'G', `γ values (repeatable or comma list; default ${SPEED_DEFAULTS.gammas.join(',')})`),
  temperature: A.repeated(A.temperature, 'T', `temperatures (repeatable or comma list; default ${SPEED_DEFAULTS.temperatures.join(',')})`),
  'top-p': A.single(A.topP, 'P', 'nucleus sampling mass (default 1 = off)'),
  'top-k': A.single(A.topK, 'K', 'top-k (default 0 = off)'),
  prompts: A.single(A.positiveInt, 'N', `held-out FIM prompts (default ${SPEED_DEFAULTS.prompts})`),
  'max-tokens': A.single(A.maxTokens, 'N', `tokens per completion (default ${SPEED_DEFAULTS.maxTokens})`),
  mode: A.single(A.choice(MODES), 'MODE', 'stop rule (default free: every configuration decodes the same length)'),
};

export const couplingDefs = {
  ...common,
  drafter: A.repeated(A.str, 'MODEL', 'model drafters to compare with the target (repeatable; default: the recommended one)'),
  temperature: A.repeated(A.temperature, 'T', `temperatures > 0 (repeatable or comma list; default ${COUPLING_DEFAULTS.temperatures.join(',')})`),
  prompts: A.single(A.positiveInt, 'N', `held-out prompts (completions) per temperature (default ${COUPLING_DEFAULTS.prompts})`),
  positions: A.single(A.positiveInt, 'N', `positions per completion (default ${COUPLING_DEFAULTS.positions})`),
  trials: A.single(A.positiveInt, 'N', `shared-randomness trials per position (default ${COUPLING_DEFAULTS.trials})`),
};

export const overheadDefs = {
  ...common,
  drafter: A.single(A.str, 'MODEL', 'the model drafter (default: the recommended one)'),
  prompts: A.single(A.positiveInt, 'N', `held-out prompts (default ${OVERHEAD_DEFAULTS.prompts})`),
  'max-tokens': A.single(A.maxTokens, 'N', `tokens per completion (default ${OVERHEAD_DEFAULTS.maxTokens})`),
  'alloc-calls': A.single(A.positiveInt, 'N', `calls per batch in the allocation check (default ${OVERHEAD_DEFAULTS.allocCalls})`),
};

export const invarianceDefs = {
  ...common,
  drafter: A.repeated(A.str, 'DRAFTER', 'drafters (repeatable or comma list; default: every model drafter, prompt-lookup, prompt-lookup+<recommended>)'),
  coupling: A.repeated(A.choice(INVARIANT_COUPLINGS), 'KIND', `couplings (repeatable; default ${INVARIANCE_DEFAULTS.couplings.join(',')})`),
  gamma: A.repeated(A.gamma, 'G', `γ values (repeatable or comma list; default ${INVARIANCE_DEFAULTS.gammas.join(',')})`),
  temperature: A.repeated(A.temperature, 'T', `temperatures (repeatable or comma list; default ${INVARIANCE_DEFAULTS.temperatures.join(',')})`),
  'top-p': A.single(A.topP, 'P', 'nucleus sampling mass (default 1 = off)'),
  'top-k': A.single(A.topK, 'K', 'top-k (default 0 = off)'),
  'max-tokens': A.single(A.maxTokens, 'N', `tokens per completion (default ${INVARIANCE_DEFAULTS.maxTokens})`),
  mode: A.single(A.choice(MODES), 'MODE', `stop rule (default ${INVARIANCE_DEFAULTS.mode})`),
  cases: A.single(A.positiveInt, 'N', '(prompt, seed) cases (default: enough for --min-comparisons)'),
  'min-comparisons': A.single(A.positiveInt, 'N', `comparisons to reach when --cases is not given (default ${INVARIANCE_DEFAULTS.minComparisons})`),
};

export const latencyDefs = {
  ...common,
  drafter: A.repeated(A.str, 'DRAFTER', 'drafters (repeatable or comma list; default: none, the recommended model, prompt-lookup)'),
  coupling: A.single(A.choice(COUPLING_IDS), 'KIND', `coupling (default ${DEFAULT_COUPLING})`),
  temperature: A.single(A.temperature, 'T', `temperature (default ${LATENCY_DEFAULTS.temperature})`),
  gamma: A.single(A.gamma, 'G', `γ (default ${LATENCY_DEFAULTS.gamma})`),
  prompts: A.single(A.positiveInt, 'N', `held-out prompts (default ${LATENCY_DEFAULTS.prompts})`),
  'max-tokens': A.single(A.maxTokens, 'N', `token budget per line (default ${LATENCY_DEFAULTS.maxTokens})`),
};

export const qualityDefs = {
  ...common,
  package: A.repeated(A.str, 'DIR', 'held-out package folders (repeatable; default: those in bench/fixtures/quality)'),
  'cross-file': A.single(A.positiveInt, 'N', `cursor points using a name defined in another file (default ${QUALITY_DEFAULTS.crossFile}; --quick ${QUALITY_QUICK.crossFile})`),
  random: A.single(A.positiveInt, 'N', `random cursor points (default ${QUALITY_DEFAULTS.random}; --quick ${QUALITY_QUICK.random})`),
  seeds: A.single(A.positiveInt, 'N', `seeds at the sampling temperature (default ${QUALITY_DEFAULTS.seeds}; --quick ${QUALITY_QUICK.seeds})`),
  temperature: A.single(A.temperature, 'T', `the sampling temperature besides T = 0 (default ${QUALITY_DEFAULTS.temperature})`),
  'line-tokens': A.single(A.maxTokens, 'N', `token budget of a line completion (default ${QUALITY_DEFAULTS.lineTokens})`),
  'block-tokens': A.single(A.maxTokens, 'N', `token budget of a block completion (default ${QUALITY_DEFAULTS.blockTokens})`),
};

export const soakDefs = {
  help: common.help, debug: common.debug, json: common.json,
  quick: A.flag(`two tiny scenarios (${SOAK_QUICK.keystrokes[0]} keystrokes; debounce 0 without the hog, 150 with it); default --out .bench-results/quick`),
  out: common.out, quiet: common.quiet,
  target: A.single(A.str, 'MODEL', 'the lockstep.target setting (default: its default, lockstep-target)'),
  threads: A.single(A.threads, 'N', `the lockstep.threads setting (default ${SOAK_DEFAULTS.threads})`),
  device: A.single(A.choice(DEVICE_REQUESTS), 'DEVICE', `the lockstep.device setting (default ${SOAK_DEFAULTS.device})`),
  keystrokes: A.repeated(A.positiveInt, 'N', `keystrokes per scenario (repeatable or comma list; default ${SOAK_DEFAULTS.keystrokes.join(',')})`),
  debounce: A.repeated(A.numberIn({ min: 0, max: 5000, integer: true, describe: 'an integer from 0 to 5000' }), 'MS',
    `lockstep.debounceMs values (repeatable or comma list; default ${SOAK_DEFAULTS.debounceMs.join(',')})`),
  hog: A.repeated(A.choice(['off', 'on'] as const), 'off|on', 'without and/or with the CPU hog, one busy process per CPU (default off,on)'),
  'hog-processes': A.single(A.positiveInt, 'N', 'busy processes of the CPU hog (default: one per logical CPU)'),
  interval: A.single(A.numberIn({ min: 1, max: 10_000, describe: 'a number from 1 to 10000' }), 'MS', `mean keystroke interval (default ${SOAK_DEFAULTS.intervalMs})`),
  jitter: A.single(A.numberIn({ min: 0, max: 10_000, describe: 'a number ≥ 0' }), 'MS', `each interval uniform in interval ± jitter (default ${SOAK_DEFAULTS.jitterMs})`),
  'line-pause': A.single(A.numberIn({ min: 0, max: 60_000, describe: 'a number ≥ 0' }), 'MS', `extra pause after a newline (default ${SOAK_DEFAULTS.linePauseMs})`),
  wait: A.single(A.numberIn({ min: 1, max: 3600, describe: 'a number from 1 to 3600' }), 'S',
    `how long to wait for the last keystroke's completion (default ${SOAK_DEFAULTS.waitSeconds}; --quick ${SOAK_QUICK.waitSeconds})`),
  seed: A.single(A.seed, 'N', `seed of the keystroke jitter (default ${SOAK_DEFAULTS.seed})`),
  extension: A.single(A.str, 'FILE', 'the extension module (default: extension.js next to the bundle, else out/src/vscode/extension.js)'),
};

export const reportDefs = {
  help: A.flag('show this help', 'h'),
  debug: A.flag('print stack traces on errors'),
  out: A.single(A.str, 'DIR', 'where the JSON results are (default .bench-results)'),
  note: A.single(A.str, 'TEXT', 'a warning at the top (e.g. which weights were measured)'),
  write: A.single(A.str, 'FILE', 'write the Markdown to FILE instead of stdout'),
  redraw: A.flag('first draw every figure again from the result files (into --media), e.g. after a change of style'),
  media: A.single(A.str, 'DIR', 'where --redraw draws (default media)'),
  png: A.flag('with --redraw: also write PNGs (needs rsvg-convert)'),
};

export const peerDefs = {
  ...common,
  threads: A.repeated(A.threads, 'N', 'thread counts, each run for both systems (repeatable or comma list; 0 = the machine\'s logical CPUs; default 1 and the machine\'s; --quick 1)'),
  'drafter-a': A.single(A.str, 'MODEL', 'Lockstep\'s second model drafter (default lockstep-drafter-a; none: only --drafter-b)'),
  'drafter-b': A.single(A.str, 'MODEL', 'the drafter both systems use (default lockstep-drafter-b)'),
  prompts: A.single(A.positiveInt, 'N', `held-out prompts timed per thread count (default ${PEER_DEFAULTS.prompts}; --quick 2)`),
  'max-tokens': A.single(A.maxTokens, 'N', `tokens per completion (default ${PEER_DEFAULTS.maxTokens}; --quick 12)`),
  'validate-prompts': A.single(A.positiveInt, 'N', `held-out prompts whose greedy ids must agree before timing (default ${PEER_DEFAULTS.validatePrompts}; --quick 2)`),
  'sweep-prompts': A.single(A.positiveInt, 'N', `prompts per setting in the sweep of llama.cpp's predictors (default ${PEER_DEFAULTS.sweepPrompts})`),
  cases: A.single(A.positiveInt, 'N', `(prompt, seed) invariance cases at T = ${PEER_DEFAULTS.invarianceTemperature} (default ${PEER_DEFAULTS.invarianceCases}; --quick 2)`),
  'gguf-dir': A.single(A.str, 'DIR', 'where the converted GGUF files go (default <out>/gguf)'),
};

export const callcostDefs = {
  ...common,
  threads: A.repeated(A.threads, 'N', 'thread counts (repeatable or comma list; 0 = the machine\'s logical CPUs; default 1)'),
  past: A.single(A.positiveInt, 'N', `tokens in the cache before each call (default ${CALLCOST_DEFAULTS.past})`),
  'max-k': A.single(A.numberIn({ min: 2, max: 64, integer: true, describe: 'an integer from 2 to 64' }), 'K', `largest call measured (default ${CALLCOST_DEFAULTS.maxK})`),
  repeats: A.single(A.positiveInt, 'N', `timed calls per k, after one warm-up (default ${CALLCOST_DEFAULTS.repeats}; --quick 1)`),
  'gguf-dir': A.single(A.str, 'DIR', 'where the converted GGUF goes (default <out>/gguf)'),
};

export const breakdownDefs = {
  ...common,
  prompts: A.single(A.positiveInt, 'N', `held-out prompts (default ${BREAKDOWN_DEFAULTS.prompts}; --quick 1)`),
  'max-tokens': A.single(A.maxTokens, 'N', `decode steps per prompt (default ${BREAKDOWN_DEFAULTS.maxTokens}; --quick 8)`),
};
