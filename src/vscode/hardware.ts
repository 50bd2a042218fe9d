/**
 * What the first-run setup needs to know of this machine (recommend.ts decides from it): RAM, free disk where
 * models are stored, cores, and the device the engine will most likely use (device.ts's cheap probe: the GPU device
 * nodes and the platform; onnxruntime itself runs in the engine process, never here).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type DeviceRequest, hasGpuDeviceNode, likelyDevice } from '../engine/runtime/device';
import type { Hardware } from '../models/recommend';

/** Free bytes on the file system that holds `dir`, or the nearest folder above it that exists (undefined: unknown). */
export function freeDiskBytes(dir: string): number | undefined {
  let at = path.resolve(dir);
  for (;;) {
    try {
      const s = fs.statfsSync(at);
      return s.bavail * s.bsize;
    } catch {
      const up = path.dirname(at);
      if (up === at) return undefined;
      at = up;
    }
  }
}

export function detectHardware(modelsDir: string, device: DeviceRequest): Hardware {
  return {
    totalRamBytes: os.totalmem(),
    freeDiskBytes: freeDiskBytes(modelsDir),
    cores: typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length,
    device: likelyDevice(device, process.platform, hasGpuDeviceNode()),
  };
}
