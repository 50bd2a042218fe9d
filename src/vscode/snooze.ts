/**
 * Snooze: no inline completions for a while (minutes, or until the editor restarts), then back by itself. The clock
 * is injected so that tests can move time. No `vscode` import.
 */

export interface Clock {
  now(): number;
  setTimeout(f: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  setTimeout: (f, ms) => {
    const t = setTimeout(f, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** The choices the Snooze… picker offers (minutes; undefined = until the editor restarts). */
export const SNOOZE_CHOICES: { label: string; minutes: number | undefined }[] = [
  { label: '5 minutes', minutes: 5 },
  { label: '15 minutes', minutes: 15 },
  { label: '30 minutes', minutes: 30 },
  { label: '1 hour', minutes: 60 },
  { label: 'Until the editor restarts', minutes: undefined },
];

/** setTimeout's longest delay (about 24.8 days); a longer snooze re-arms the timer when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** "14:05" (local time, 24-hour). */
export function clockTime(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** A snooze argument (a command's): a positive number of minutes, numeric strings too; undefined otherwise. */
export function minutesFromArgument(arg: unknown): number | undefined {
  const n = typeof arg === 'string' && arg.trim() !== '' ? Number(arg) : arg;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : undefined;
}

export class SnoozeState {
  /** When completions come back (ms since the epoch); Infinity: at the next restart; undefined: not snoozed. */
  private until: number | undefined;
  private timer: unknown;

  constructor(private readonly onChange: (snoozed: boolean) => void, private readonly clock: Clock = SYSTEM_CLOCK) {}

  /** True while snoozed (also when the timer is late: the time decides). */
  get active(): boolean {
    return this.until !== undefined && this.clock.now() < this.until;
  }

  /** The end of the snooze (ms since the epoch, Infinity until restart), undefined when not snoozed. */
  get resumesAt(): number | undefined {
    return this.active ? this.until : undefined;
  }

  /** "snoozed until 14:05", "snoozed until restart"; undefined when not snoozed. */
  get label(): string | undefined {
    const at = this.resumesAt;
    if (at === undefined) return undefined;
    return at === Infinity ? 'snoozed until restart' : `snoozed until ${clockTime(at)}`;
  }

  /** Snoozes for `minutes` (undefined: until the editor restarts), replacing any snooze in effect. */
  snooze(minutes: number | undefined): void {
    this.clearTimer();
    this.until = minutes === undefined ? Infinity : this.clock.now() + minutes * 60_000;
    this.arm();
    this.onChange(true);
  }

  /** Ends the snooze now (nothing when not snoozed). */
  resume(): void {
    const was = this.until !== undefined;
    this.clearTimer();
    this.until = undefined;
    if (was) this.onChange(false);
  }

  dispose(): void {
    this.clearTimer();
  }

  private arm(): void {
    if (this.until === undefined || this.until === Infinity) return;
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, this.until - this.clock.now()));
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      if (this.until !== undefined && this.clock.now() >= this.until) this.resume();
      else this.arm();
    }, wait);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
