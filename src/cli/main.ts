/**
 * jitctl's entry logic: parses the global options and the command line (node:util parseArgs),
 * runs the command, and turns any error into one `jitctl: …` line on stderr and an exit code.
 */
import { parseArgs } from 'node:util';
import { ControlClient } from '../ipc/client.js';
import { VERSION } from '../version.js';
import type { CliIo, Command, CommandContext, OptionSpec } from './command.js';
import { findCommand } from './commands/index.js';
import { describeError, EXIT, exitCodeFor, UsageError } from './errors.js';
import { commandHelp, mainHelp } from './help.js';
import { colorEnabled, makeStyle } from './output.js';
import { guardHuman, showLine } from './safe-text.js';
import { resolveSocketPath } from './socket-path.js';
import { openSsh } from './ssh-transport.js';

const GLOBAL_OPTIONS: OptionSpec = {
  socket: { type: 'string' },
  config: { type: 'string' },
  host: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
};

/** The first word that is not an option (or an option's value): the command name. */
function commandName(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') return argv[i + 1];
    if (a === '--socket' || a === '--config' || a === '--host') i++;
    else if (!a.startsWith('-') || a === '-') return a;
  }
  return undefined;
}

function parse(argv: string[], command: Command | undefined) {
  try {
    return parseArgs({ args: argv, options: { ...GLOBAL_OPTIONS, ...command?.options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0] ?? String(err));
  }
}

/** Runs jitctl with `argv` (without node and the script) and answers the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  let client: ControlClient | undefined;
  try {
    const name = commandName(argv);
    const command = name === undefined ? undefined : findCommand(name);
    if (name !== undefined && !command && name !== 'help') throw new UsageError(`unknown command ${JSON.stringify(name)} (see jitctl --help)`);
    const { values, positionals } = parse(argv, command);
    if (values.version) {
      io.stdout.write(`jitctl ${VERSION}\n`);
      return EXIT.OK;
    }
    if (name === 'help') {
      const topic = positionals[1] === undefined ? undefined : findCommand(positionals[1]);
      io.stdout.write(topic ? commandHelp(topic) : mainHelp());
      return EXIT.OK;
    }
    if (values.help || !command) {
      if (!command && !values.help) {
        io.stderr.write(mainHelp());
        return EXIT.USAGE;
      }
      io.stdout.write(command ? commandHelp(command) : mainHelp());
      return EXIT.OK;
    }
    const args = positionals.slice(1);
    const [min, max] = command.args;
    if (args.length < min || args.length > max) throw new UsageError(`usage: jitctl ${command.usage}`);
    const source = { socket: values.socket as string | undefined, config: values.config as string | undefined };
    // dial-stdio is the far end of a --host connection: it always uses the local socket.
    const host = command.name === 'dial-stdio' ? undefined : ((values.host as string | undefined) ?? (io.env.JITD_HOST || undefined));
    if (command.name === 'dial-stdio' && values.host !== undefined) throw new UsageError('dial-stdio bridges to the local socket; --host makes no sense here');
    const ctx: CommandContext = {
      io,
      json: Boolean(values.json),
      style: makeStyle(colorEnabled(io.stdout, io.env)),
      errStyle: makeStyle(colorEnabled(io.stderr, io.env)),
      host,
      socketPath: () => resolveSocketPath(source, io.env, io.cwd),
      connect: async () => {
        if (!client) {
          if (host) client = new ControlClient(openSsh(host, source, io.env), host);
          else client = await ControlClient.connect(await resolveSocketPath(source, io.env, io.cwd));
        }
        return client;
      },
      out: (text) => void io.stdout.write(guardHuman(text)),
      exact: (text) => void io.stdout.write(text),
      warn: (line) => void io.stderr.write(`jitctl: ${showLine(line)}\n`),
    };
    return await command.run(ctx, args, values);
  } catch (err) {
    const style = makeStyle(colorEnabled(io.stderr, io.env));
    io.stderr.write(`${style.red('jitctl:')} ${showLine(describeError(err))}\n`);
    return exitCodeFor(err);
  } finally {
    client?.close();
  }
}
