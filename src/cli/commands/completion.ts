/**
 * `jitctl completion bash|zsh|fish`: prints a completion script for that shell (commands,
 * options, request ids from `pending` at completion time). docs/completion.md says where each
 * shell looks for it.
 */
import type { Command } from '../command.js';
import { completionScript, SHELLS, type Shell } from '../completion-scripts.js';
import { UsageError } from '../errors.js';

export const completionCommand: Command = {
  name: 'completion',
  usage: 'completion bash|zsh|fish',
  summary: 'print a shell completion script (see docs/completion.md to install it)',
  details: [
    'bash:  jitctl completion bash > ~/.local/share/bash-completion/completions/jitctl',
    'zsh:   jitctl completion zsh > "${fpath[1]}/_jitctl"',
    'fish:  jitctl completion fish > ~/.config/fish/completions/jitctl.fish',
  ],
  options: {},
  args: [1, 1],
  async run(ctx, [shell]) {
    if (!(SHELLS as readonly string[]).includes(shell as string))
      throw new UsageError(`completion: unknown shell ${JSON.stringify(shell)}; one of ${SHELLS.join(', ')}`);
    // The table imports this command: read it when run, not when loaded.
    const { COMMANDS } = await import('./index.js');
    ctx.exact(completionScript(shell as Shell, COMMANDS));
    return 0;
  },
};
