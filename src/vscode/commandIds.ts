/** The ids of the commands the extension contributes (package.json `contributes.commands`). */
export const COMMANDS = {
  regenerate: 'lockstep.regenerateWithSeed',
  nextSeed: 'lockstep.nextSeed',
  previousSeed: 'lockstep.previousSeed',
  chooseDrafter: 'lockstep.chooseDrafter',
  chooseTarget: 'lockstep.chooseTarget',
  verify: 'lockstep.verifyDrafterInvariance',
  download: 'lockstep.downloadModels',
  showLog: 'lockstep.showLog',
  menu: 'lockstep.showMenu',
  toggle: 'lockstep.toggleEnable',
  restart: 'lockstep.restartEngine',
  accepted: 'lockstep.completionAccepted',
  snooze: 'lockstep.snooze',
  resume: 'lockstep.resume',
  setupModel: 'lockstep.setupModel',
  tryCompletion: 'lockstep.tryCompletion',
} as const;
