/**
 * Language awareness: a target whose catalog entry lists the languages it was trained on (the demo models:
 * JavaScript/TypeScript) does not complete other languages; the user is told once per language and session, with
 * "Set Up a Model" and "Don't show again" (remembered in the extension's global state). The words come from
 * modelNotices.languageMismatch, which every surface shares.
 */
import * as vscode from 'vscode';
import type { CatalogEntry } from '../models/catalogTypes';
import { languageMismatch } from '../models/modelNotices';

/** The command of the first-run model setup (registered with the setup walkthrough). */
export const SETUP_MODEL_COMMAND = 'lockstep.setupModel';
export const SET_UP_A_MODEL = 'Set Up a Model';
export const DONT_SHOW_AGAIN = "Don't show again";
/** globalState key: true once the user chose "Don't show again". */
export const LANGUAGE_NOTICE_KEY = 'lockstep.languageNotice.off';

/** The part of vscode.Memento used here. */
export interface Memento {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): Thenable<void>;
}

export class LanguageNotices {
  private readonly shown = new Set<string>();
  /** Without a global state (a test's bare context) the choice lasts the session. */
  private off = false;

  constructor(private readonly store: Memento | undefined, private readonly log: (message: string) => void) {}

  /**
   * Why `entry` does not complete `languageId` (undefined: it does). The first time in this session for a language
   * (unless the user turned the notice off), an information message says so.
   */
  check(entry: CatalogEntry | undefined, languageId: string): string | undefined {
    const why = languageMismatch(entry, languageId);
    if (why === undefined) return undefined;
    const key = `${entry?.id ?? ''}\n${languageId}`;
    if (this.shown.has(key)) return why;
    this.shown.add(key);
    this.log(why);
    if (this.off || this.store?.get<boolean>(LANGUAGE_NOTICE_KEY) === true) return why;
    void vscode.window.showInformationMessage(`Lockstep: ${why}`, SET_UP_A_MODEL, DONT_SHOW_AGAIN).then((a) => {
      if (a === SET_UP_A_MODEL) void vscode.commands.executeCommand(SETUP_MODEL_COMMAND);
      if (a === DONT_SHOW_AGAIN) {
        this.off = true;
        void this.store?.update(LANGUAGE_NOTICE_KEY, true);
      }
    });
    return why;
  }
}
