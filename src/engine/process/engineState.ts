/** The engine host's state as its users show it (the editor's status bar, the server's /health). */
import type { DeviceOutcome } from '../runtime/device';

export type EngineState =
  | { kind: 'loading'; target: string }
  /** `device`: where the loaded engine runs (absent only for engines that do not say). */
  | { kind: 'ready'; device?: DeviceOutcome; optimizing?: number }
  | { kind: 'downloading'; model: string; percent?: number }
  | { kind: 'error'; message: string };
