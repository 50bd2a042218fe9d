/**
 * Which onnxruntime execution provider runs the models, and the rules that keep the target exact on it.
 *
 * `auto` tries the providers this platform's onnxruntime-node offers, best first, and falls back to the CPU; every
 * provider skipped or failed leaves one sentence saying why (shown once to the user, written to the log).
 *
 * Exactness per provider (the target's logits for a position must not depend on how tokens were grouped into calls):
 * - cpu: MLAS takes a different matmul path for a one-row call, so every call carries ≥ 2 tokens (measured).
 * - webgpu: kernels tile rows in fours; on Mesa lavapipe a position's logits were bitwise the same only when it sat at
 *   the same offset in its call after an aligned past: calls start at a multiple of 4 (re-feeding up to 3 cached
 *   tokens) and carry a multiple of 4 tokens (measured: test/engine/runtime/webgpu.test.ts).
 * - cuda, dml, coreml: not measured here; the same multiple-of-4 rule is applied as the cautious default, and
 *   `lockstep verify --device <name>` is the judge on the user's machine.
 * The drafter's logits never reach the output, so drafters take unpadded calls on every provider.
 *
 * Pure (no onnxruntime import), so the extension host can use it; deviceProbe.ts asks onnxruntime what it offers.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export type Device = 'cpu' | 'webgpu' | 'cuda' | 'dml' | 'coreml';
export type DeviceRequest = Device | 'auto';
export const DEVICES: readonly Device[] = ['cpu', 'webgpu', 'cuda', 'dml', 'coreml'];
export const DEVICE_REQUESTS: readonly DeviceRequest[] = ['auto', ...DEVICES];

/** How calls to the target are shaped on a provider, and where its KV cache lives. */
export interface CallRule {
  /** Every target call carries at least this many tokens (padding slots are masked). */
  minTokensPerCall: number;
  /** Every target call carries a multiple of this many tokens. */
  tokenMultiple: number;
  /** Every target call starts at a multiple of this position (cached tokens after it are fed again). */
  align: number;
  /** 'gpu-buffer': present.* outputs stay on the device and are fed back as past_key_values. */
  kvLocation: 'cpu' | 'gpu-buffer';
}

/** The shape part of a CallRule (what the exactness probe varies). */
export type CallShape = Pick<CallRule, 'minTokensPerCall' | 'tokenMultiple' | 'align'>;

export const CALL_RULES: Readonly<Record<Device, CallRule>> = {
  cpu: { minTokensPerCall: 2, tokenMultiple: 1, align: 1, kvLocation: 'cpu' },
  webgpu: { minTokensPerCall: 4, tokenMultiple: 4, align: 4, kvLocation: 'gpu-buffer' },
  // onnxruntime-node cannot keep CUDA outputs on the device: present.* come back to host memory after every call.
  cuda: { minTokensPerCall: 4, tokenMultiple: 4, align: 4, kvLocation: 'cpu' },
  dml: { minTokensPerCall: 4, tokenMultiple: 4, align: 4, kvLocation: 'cpu' },
  coreml: { minTokensPerCall: 4, tokenMultiple: 4, align: 4, kvLocation: 'cpu' },
};

/** The provider list handed to onnxruntime for a device (CPU last, for the ops a GPU provider leaves to it). */
export function executionProviders(device: Device): string[] {
  return device === 'cpu' ? ['cpu'] : [device, 'cpu'];
}

/** What this machine offers; gathered once per process by probeDevices(), passed in explicitly by tests. */
export interface DeviceEnvironment {
  platform: NodeJS.Platform;
  arch: string;
  /** Backends onnxruntime-node was built with (listSupportedBackends). */
  backends: { name: string; bundled: boolean }[];
  /** The folder holding onnxruntime-node's native binaries (where the CUDA provider library must be). */
  binaryDir?: string;
  /** A GPU device node exists (/dev/dri/renderD*, /dev/nvidia*, /dev/dxg); always true off Linux. */
  gpuDeviceNode: boolean;
  /** Library directories searched for CUDA 12 and cuDNN 9. */
  libraryDirs: string[];
}

/**
 * Why a device cannot be used on this machine, or null when it is worth trying. `auto` also passes over WebGPU when no
 * GPU device node exists (it would find only a software adapter); a WebGPU asked for by name is always tried.
 */
export function unavailableReason(device: Device, env: DeviceEnvironment, auto = false): string | null {
  if (device === 'cpu') return null;
  const backend = env.backends.find((b) => b.name === device);
  if (!backend) return `onnxruntime-node on ${env.platform}-${env.arch} has no ${device} execution provider`;
  if (device === 'cuda') return cudaProblem(env);
  if (auto && device === 'webgpu' && !env.gpuDeviceNode) {
    return 'no GPU device node was found (/dev/dri/renderD*, /dev/nvidia*); WebGPU would run on a software adapter slower than the CPU';
  }
  return null;
}

const CUDA_HOWTO =
  'to enable CUDA: install CUDA 12 and cuDNN 9, then reinstall onnxruntime-node with its CUDA libraries ' +
  '(from a clone of Lockstep: ONNXRUNTIME_NODE_INSTALL=1 node node_modules/onnxruntime-node/script/install, then build ' +
  'and package it; the .vsix carries the CPU libraries only), or set lockstep.device to "webgpu"';

function cudaProblem(env: DeviceEnvironment): string | null {
  const providerLib = env.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  if (!env.binaryDir || !fs.existsSync(path.join(env.binaryDir, providerLib))) {
    return `onnxruntime-node's CUDA provider (${providerLib}) is not installed; ${CUDA_HOWTO}`;
  }
  if (env.platform !== 'linux') return null;
  const missing = ['libcudart.so.12', 'libcublas.so.12', 'libcudnn.so.9'].filter(
    (lib) => !env.libraryDirs.some((d) => fs.existsSync(path.join(d, lib))),
  );
  return missing.length === 0 ? null : `CUDA libraries not found (${missing.join(', ')}); ${CUDA_HOWTO}`;
}

/** Devices `auto` tries on a platform, best first (the CPU is always the last resort). */
export function autoOrder(platform: NodeJS.Platform): Device[] {
  if (platform === 'win32') return ['cuda', 'dml', 'webgpu', 'cpu'];
  if (platform === 'darwin') return ['coreml', 'webgpu', 'cpu'];
  return ['cuda', 'webgpu', 'cpu'];
}

export interface DeviceCandidates {
  /** Devices to try in order; the last is always 'cpu'. */
  order: Device[];
  /** One sentence per device that was asked for (or tried by auto) but cannot be used, with why. */
  skipped: string[];
}

/** The devices to try for a request: auto → autoOrder less the unavailable ones; a named device, then the CPU. */
export function deviceCandidates(request: DeviceRequest, env: DeviceEnvironment): DeviceCandidates {
  const wanted = request === 'auto' ? autoOrder(env.platform) : request === 'cpu' ? ['cpu' as const] : [request, 'cpu' as const];
  const order: Device[] = [];
  const skipped: string[] = [];
  for (const d of wanted) {
    const why = unavailableReason(d, env, request === 'auto');
    if (why === null) order.push(d);
    // auto passes over absent GPU providers quietly only when none of them could exist on this build.
    else if (request !== 'auto' || env.backends.some((b) => b.name === d)) skipped.push(`${d}: ${why}`);
  }
  return { order, skipped };
}

/** A GPU device node exists (Linux: /dev/dri/renderD*, /dev/nvidia*, WSL's /dev/dxg). */
export function hasGpuDeviceNode(): boolean {
  const list = (dir: string): string[] => {
    try {
      return fs.readdirSync(dir);
    } catch {
      return [];
    }
  };
  return (
    list('/dev/dri').some((n) => n.startsWith('renderD')) ||
    list('/dev').some((n) => /^nvidia\d+$/.test(n) || n === 'dxg')
  );
}

/**
 * The device the engine will most likely run on, without loading onnxruntime (for choosing what to download):
 * a named device, or for auto the CPU on a Linux machine with no GPU device node; undefined when only trying tells.
 */
export function likelyDevice(request: DeviceRequest, platform: NodeJS.Platform, gpuDeviceNode: boolean): Device | undefined {
  if (request !== 'auto') return request;
  return platform === 'linux' && !gpuDeviceNode ? 'cpu' : undefined;
}

/** The outcome of choosing a device, as the engine reports it. */
export interface DeviceOutcome {
  requested: DeviceRequest;
  used: Device;
  /** The target's ONNX variant actually loaded (undefined: the model's only/plain model.onnx). */
  variant?: string;
  /**
   * True when a named device could not be used, or auto tried a GPU provider that failed to load: worth one notice.
   * (auto passing over providers this machine cannot have is only logged, in `notes`.)
   */
  fellBack: boolean;
  /** Why devices before `used` were skipped or failed, one sentence each. */
  notes: string[];
  /** Set when the model folder held several variants and one was picked for the device (which, and the others). */
  variantNote?: string;
}

/** One line for the log and the status tooltip. */
export function describeOutcome(o: DeviceOutcome): string {
  const variant = o.variant ? `, variant ${o.variant}` : '';
  const head = o.requested === o.used ? `device ${o.used}${variant}` : `device ${o.used}${variant} (asked: ${o.requested})`;
  return o.notes.length > 0 ? `${head}; ${o.notes.join('; ')}` : head;
}
