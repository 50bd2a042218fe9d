/**
 * Figures: Vega-Lite specifications rendered to SVG headless, in pure JavaScript (vega + vega-lite; no canvas, no
 * native build). Optionally also a PNG through librsvg's `rsvg-convert` when it is installed.
 *
 * vega and vega-lite are ES modules; they are loaded with a dynamic import() whose specifier is a variable, so
 * neither tsc (CommonJS output) nor esbuild rewrites or bundles them: they load from node_modules at run time, and
 * only the commands that draw need them.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A Vega-Lite specification (kept untyped: the library's types load with the library). */
export type VegaLiteSpec = Record<string, unknown>;

interface VegaView {
  toSVG(scaleFactor?: number): Promise<string>;
  finalize(): void;
}
interface VegaModule {
  parse(spec: unknown, config?: unknown): unknown;
  View: new (runtime: unknown, options: { renderer: 'none' }) => VegaView;
}
interface VegaLiteModule {
  compile(spec: unknown): { spec: unknown };
}

const importModule = (specifier: string): Promise<unknown> => import(specifier);

let libs: Promise<{ vega: VegaModule; vl: VegaLiteModule }> | undefined;

function loadLibs(): Promise<{ vega: VegaModule; vl: VegaLiteModule }> {
  libs ??= (async () => {
    const names = ['vega', 'vega-lite'];
    try {
      const [vega, vl] = await Promise.all(names.map(importModule));
      return { vega: vega as VegaModule, vl: vl as VegaLiteModule };
    } catch (e) {
      libs = undefined;
      throw new Error(`drawing figures needs the npm packages vega and vega-lite (npm ci installs them): ${(e as Error).message.split('\n')[0]}`);
    }
  })();
  return libs;
}

/** Shared look: white background, readable fonts, no chart border. */
const CONFIG = {
  background: 'white',
  font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 320 },
  header: { labelFontSize: 12, titleFontSize: 12 },
  title: { fontSize: 14, anchor: 'start', subtitleFontSize: 11, subtitleColor: '#555' },
};

/** Renders a Vega-Lite spec to an SVG string. */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const { vega, vl } = await loadLibs();
  const full = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', ...spec, config: { ...CONFIG, ...(spec.config as object | undefined) } };
  const compiled = vl.compile(full).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

let rsvg: boolean | undefined;

/** True when `rsvg-convert` (Debian: librsvg2-bin) is on the PATH. */
export function canWritePng(): boolean {
  rsvg ??= spawnSync('rsvg-convert', ['--version'], { stdio: 'ignore' }).status === 0;
  return rsvg;
}

/**
 * Writes dir/name.svg (and dir/name.png when png is set and rsvg-convert is available); returns the paths written.
 */
export async function writeFigure(dir: string, name: string, spec: VegaLiteSpec, png = false): Promise<string[]> {
  const svg = await renderSvg(spec);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.svg`);
  fs.writeFileSync(file, svg);
  const written = [file];
  if (png && canWritePng()) {
    const out = path.join(dir, `${name}.png`);
    const r = spawnSync('rsvg-convert', ['--zoom', '2', '--background-color', 'white', '-o', out, file], { stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status === 0) written.push(out);
  }
  return written;
}

/** File-name-safe slug of a label such as "helpers-cookies.js.txt:65:13". */
export function slug(s: string): string {
  return s.replace(/\.txt(?=:|$)/, '').replace(/[^A-Za-z0-9]+/g, '-').replace(/^-+|-+$/g, '').toLowerCase();
}
