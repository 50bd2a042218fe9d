/** `lockstep bench peer`'s table, its Markdown and figure. */
import { headLines, table } from '../common';
import type { PeerReport } from './peer';
import { VegaLiteSpec } from '../report/plot';

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);

export function formatPeer(r: PeerReport): string {
  const lines = [headLines(r).trimEnd(), ''];
  lines.push(`Validation (greedy token ids, Lockstep's ONNX model vs llama.cpp on the converted GGUF, ≤ ${r.maxTokens} tokens):`);
  for (const v of r.validation) lines.push(`  ${v.model}: ${v.identical}/${v.prompts} prompts identical (${v.tokens} tokens)`);
  lines.push('');
  lines.push(`Decode at T = 0 on ${r.prompts} held-out prompts (≤ ${r.maxTokens} tokens), arms interleaved per prompt; medians over prompts:`);
  lines.push(table(
    ['system', 'arm', 'threads', 'tokens/s', '÷ llama.cpp plain', '÷ own plain', 'prefill ms', 'prompt tokens', 'text = plain'],
    r.rows.map((x) => [x.system, x.arm, String(x.threads), f1(x.tokensPerSecond), `${f2(x.vsLlamaPlain)}×`, `${f2(x.vsOwnPlain)}×`, f1(x.prefillMs), String(x.promptTokens), `${x.sameAsPlain}/${x.runs}`]),
  ));
  lines.push('');
  for (const q of r.ratiosByThreads) {
    lines.push(`Lockstep ÷ llama.cpp, ${q.threads} thread${q.threads === 1 ? '' : 's'}: plain ${f2(q.plain)}×; best ${f2(q.best)}× (${q.bestLockstep} vs ${q.bestLlama})`);
  }
  lines.push(`llama.cpp's best settings (sweep): ${r.best.draft}; ${r.best.lookup}`);
  const inv = (k: 'lockstep' | 'llama.cpp') => `${r.invariance[k].identical}/${r.invariance[k].cases}`;
  lines.push(`Invariance at T = ${r.invarianceTemperature} (text with a drafter/predictor = text without, same seed): Lockstep ${inv('lockstep')}, llama.cpp ${inv('llama.cpp')}`);
  for (const a of r.invarianceByArm) lines.push(`  ${a.system} ${a.arm}: ${a.identical}/${a.cases}`);
  return `${lines.join('\n')}\n`;
}

/** Tokens/s per arm (bars), one panel per thread count, coloured by system. */
export function peerFigure(r: PeerReport, note = ''): VegaLiteSpec {
  const values = r.rows.map((x) => ({ system: x.system, arm: `${x.system}: ${x.arm}`, threads: `${x.threads} thread${x.threads === 1 ? '' : 's'}`, tps: x.tokensPerSecond, prefill: x.prefillMs }));
  return {
    title: {
      text: 'Lockstep vs llama.cpp on the same weights: decode tokens/s at T = 0',
      subtitle: [`target ${r.target}, drafter ${r.drafter}; ${r.prompts} held-out prompts × ≤ ${r.maxTokens} tokens, interleaved; medians; ` +
        `${r.machine.cpu} × ${r.machine.cores}; commit ${r.commit?.slice(0, 12) ?? 'none'}${r.dirty ? '+' : ''}`, ...(note ? [note] : [])],
    },
    data: { values },
    facet: { column: { field: 'threads', type: 'nominal', title: null } },
    spec: {
      width: 260,
      height: { step: 18 },
      mark: 'bar',
      encoding: {
        y: { field: 'arm', type: 'nominal', title: null, sort: values.map((v) => v.arm) },
        x: { field: 'tps', type: 'quantitative', title: 'tokens/s (median)' },
        color: { field: 'system', type: 'nominal' },
        tooltip: [{ field: 'tps', format: '.1f' }, { field: 'prefill', title: 'prefill ms', format: '.1f' }],
      },
    },
  };
}
