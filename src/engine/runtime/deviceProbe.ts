/** What this process's onnxruntime-node and machine offer for device choice (device.ts holds the rules). */
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { DeviceEnvironment, hasGpuDeviceNode } from './device';

let probed: DeviceEnvironment | undefined;

/** This process's DeviceEnvironment (onnxruntime's backends, device nodes, library folders). */
export function probeDevices(): DeviceEnvironment {
  if (probed) return probed;
  let binaryDir: string | undefined;
  try {
    const pkg = require.resolve('onnxruntime-node/package.json');
    binaryDir = path.join(path.dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    binaryDir = undefined;
  }
  probed = {
    platform: process.platform,
    arch: process.arch,
    backends: typeof ort.listSupportedBackends === 'function' ? ort.listSupportedBackends() : [{ name: 'cpu', bundled: true }],
    binaryDir,
    gpuDeviceNode: process.platform !== 'linux' || hasGpuDeviceNode(),
    libraryDirs: libraryDirs(),
  };
  return probed;
}

function libraryDirs(): string[] {
  const dirs = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter((d) => d.length > 0);
  const cudaHome = process.env.CUDA_HOME ?? process.env.CUDA_PATH;
  if (cudaHome) dirs.push(path.join(cudaHome, 'lib64'), path.join(cudaHome, 'lib'));
  dirs.push('/usr/local/cuda/lib64', '/usr/local/cuda-12/lib64', '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib');
  return dirs;
}

