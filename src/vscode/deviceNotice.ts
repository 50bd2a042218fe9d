/**
 * What the extension says about the device the engine ended up on: a log line every load, a line in the status
 * tooltip, and a notice only when the user would otherwise not learn that their GPU is not used. No `vscode` import.
 */
import { describeOutcome, type Device, type DeviceOutcome } from '../engine/runtime/device';
import { inexactMessage, type ExactnessVerdict } from '../engine/runtime/exactness';

const DEVICE_NAMES: Readonly<Record<Device, string>> = {
  cpu: 'the CPU',
  webgpu: 'WebGPU',
  cuda: 'CUDA',
  dml: 'DirectML',
  coreml: 'CoreML',
};

/** The device in words ("the CPU", "WebGPU" …). */
export function deviceName(d: Device): string {
  return DEVICE_NAMES[d] ?? d;
}

/** One line for the log: the engine's own description of the outcome. */
export const describeDevice: (o: DeviceOutcome) => string = describeOutcome;

/** The tooltip's short form: "webgpu, variant q4f16" or "cpu (asked: webgpu; the log says why)". */
export function deviceSummary(o: DeviceOutcome): string {
  const variant = o.variant ? `, variant ${o.variant}` : '';
  const asked = o.requested === o.used ? '' : o.notes.length > 0 ? ` (asked: ${o.requested}; the log says why)` : ` (asked: ${o.requested})`;
  return `${o.used}${variant}${asked}`;
}

/**
 * The one notice for an engine load, or undefined when the log is enough. The engine sets `fellBack` when a device
 * named in the settings could not be used, or when `auto` tried a GPU provider that failed; `auto` passing over
 * providers this machine cannot use (not installed, no GPU device node) leaves only notes, which are logged, not
 * shown: they would greet every user of a machine without a GPU on every start. Asking for the CPU never notifies.
 */
export function deviceNotice(o: DeviceOutcome): string | undefined {
  if (o.requested === 'cpu' || !o.fellBack) return undefined;
  const instead = o.requested === 'auto' ? '' : ` instead of ${deviceName(o.requested)}`;
  const why = o.notes.length > 0 ? o.notes.join('; ') : 'the log has the details';
  return `Lockstep runs on ${deviceName(o.used)}${instead}: ${why}`;
}

/** The one warning for a target the exactness probe found not exact (drafting off), or undefined when it is exact. */
export function exactnessNotice(v: ExactnessVerdict | undefined, target: string): string | undefined {
  return v === undefined || v.exact ? undefined : `Lockstep: ${inexactMessage(v, target)}`;
}
