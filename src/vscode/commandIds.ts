/** The ids of the commands the extension contributes (package.json `contributes.commands`). */
export const COMMANDS = {
  regenerate: 'lockstep.regenerateWithSeed',
  nextSeed: 'lockstep.nextSeed',
  chooseDrafter: 'lockstep.chooseDrafter',
  chooseTarget: 'lockstep.chooseTarget',
  verify: 'lockstep.verifyDrafterInvariance',
  download: 'lockstep.downloadModels',
  showLog: 'lockstep.showLog',
  menu: 'lockstep.showMenu',
  toggle: 'lockstep.toggleEnable',
  restart: 'lockstep.restartEngine',
  accepted: 'lockstep.completionAccepted',
} as const;
