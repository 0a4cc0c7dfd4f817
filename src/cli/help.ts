/** jitctl's help texts. */
import type { Command } from './command.js';
import { COMMANDS } from './commands/index.js';

/** `jitctl --help`. */
export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.usage.length));
  return [
    'jitctl — control a running jitd (the just-in-time prompt-component daemon)',
    '',
    'usage: jitctl [--host ssh://[USER@]HOST[:PORT][/SOCKET]] [--socket PATH | --config FILE] [--json] COMMAND [ARGS]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
    '',
    'options:',
    '  --socket PATH   the daemon control socket (env JITD_SOCKET)',
    '  --config FILE   take the socket path from this jitd config (env JITD_CONFIG; default config/jitd.json here)',
    '  --host URL      a daemon on another machine, through ssh: ssh://[user@]host[:port][/socket/path] (env JITD_HOST);',
    '                  runs `jitctl dial-stdio` there; --socket/--config then name the socket or config on that host',
    '  --json          machine-readable output',
    '  --help, -h      this help (or: jitctl COMMAND --help)',
    '  --version       print the version',
    '',
    'exit codes: 0 success, 1 the daemon refused or failed the request, 2 usage error, 3 daemon not reachable',
    '',
  ].join('\n');
}

/** `jitctl COMMAND --help`. */
export function commandHelp(c: Command): string {
  return [`usage: jitctl [global options] ${c.usage}`, '', c.summary, ...(c.details?.length ? ['', ...c.details] : []), ''].join('\n');
}
