/** The jitctl command table. */
import type { Command } from '../command.js';
import { answerCommand } from './answer.js';
import { completionCommand } from './completion.js';
import { composeCommand } from './compose.js';
import { dialStdioCommand } from './dial-stdio.js';
import { pendingCommand } from './pending.js';
import { previewCommand } from './preview.js';
import { promptCommand } from './prompt.js';
import { reconcileCommand } from './reconcile.js';
import { rejectCommand } from './reject.js';
import { approveCommand } from './approve.js';
import { editCommand } from './edit.js';
import { regenerateCommand } from './regenerate.js';
import { historyCommand } from './history.js';
import { showCommand } from './show.js';
import { retryCommand } from './retry.js';
import { statusCommand } from './status.js';

export const COMMANDS: readonly Command[] = [
  statusCommand,
  pendingCommand,
  answerCommand,
  promptCommand,
  rejectCommand,
  approveCommand,
  regenerateCommand,
  editCommand,
  showCommand,
  historyCommand,
  retryCommand,
  reconcileCommand,
  composeCommand,
  previewCommand,
  dialStdioCommand,
  completionCommand,
];

/** The command named `name`, if any. */
export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}
