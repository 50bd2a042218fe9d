/**
 * Telling a new user, without nagging, that the bundled models are a demo and how to get a real one:
 *  - on the first activation ever with the demo target: one offer of the setup (remembered in global state);
 *  - at the first completion of a session with the demo target: the demo notice, until "Don't show again"
 *    (not in the session whose activation already made the offer).
 * The words come from modelNotices.ts, which the CLI and the demo share.
 */
import type * as vscode from 'vscode';
import type { CatalogEntry } from '../models/catalogTypes';
import { demoNotice, isDemoModel } from '../models/modelNotices';

export const SETUP_OFFERED_KEY = 'lockstep.setup.offered';
export const DEMO_NOTICE_OFF_KEY = 'lockstep.demoNotice.off';
export const WALKTHROUGH_ID = 'lockstep.gettingStarted';
const SET_UP = 'Set Up a Model';
const WALKTHROUGH = 'Open Walkthrough';
const NOT_NOW = 'Not now';
const NEVER = "Don't show again";

/** What FirstRun needs of VS Code (the fake vscode in the tests provides the same). */
export interface FirstRunUi {
  /** An information message with buttons; resolves to the button chosen (undefined: dismissed). */
  inform(message: string, ...buttons: string[]): Thenable<string | undefined>;
  command(id: string, ...args: unknown[]): Thenable<unknown>;
}

export class FirstRun {
  private offeredNow = false;
  private noticeShown = false;
  private noticeOff = false;

  constructor(
    private readonly store: Pick<vscode.Memento, 'get' | 'update'> | undefined,
    private readonly ui: FirstRunUi,
    private readonly extensionId: string,
    private readonly log: (message: string) => void,
  ) {}

  /** At activation, with the target the settings resolved to. */
  onActivation(target: CatalogEntry | undefined): void {
    if (!isDemoModel(target) || this.store?.get<boolean>(SETUP_OFFERED_KEY) === true) return;
    this.offeredNow = true;
    void this.store?.update(SETUP_OFFERED_KEY, true);
    const text = `Lockstep: ${demoNotice(target, 'editor')}`;
    this.log(`first run: ${text}`);
    void this.ui.inform(text, SET_UP, WALKTHROUGH, NOT_NOW).then((a) => this.act(a));
  }

  /** After a completion was shown, with the target that made it. */
  onCompletion(target: CatalogEntry | undefined): void {
    if (!isDemoModel(target) || this.offeredNow || this.noticeShown || this.noticeOff) return;
    if (this.store?.get<boolean>(DEMO_NOTICE_OFF_KEY) === true) return;
    this.noticeShown = true;
    const text = `Lockstep: ${demoNotice(target, 'editor')}`;
    void this.ui.inform(text, SET_UP, NOT_NOW, NEVER).then((a) => this.act(a));
  }

  private act(answer: string | undefined): void {
    if (answer === SET_UP) void this.ui.command('lockstep.setupModel');
    else if (answer === WALKTHROUGH) void this.ui.command('workbench.action.openWalkthrough', `${this.extensionId}#${WALKTHROUGH_ID}`, false);
    else if (answer === NEVER) {
      this.noticeOff = true;
      void this.store?.update(DEMO_NOTICE_OFF_KEY, true);
      this.log('demo notice turned off');
    }
  }
}
