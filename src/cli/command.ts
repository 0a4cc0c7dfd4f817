/**
 * What a jitctl command is and what it gets: parsed arguments, output streams, the style, and a
 * lazily opened connection to the daemon.
 */
import type { ParseArgsConfig } from 'node:util';
import type { ControlClient } from '../ipc/client.js';
import type { Style } from './output.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** The process streams and environment (tests may substitute them). */
export interface CliIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface CommandContext {
  io: CliIo;
  /** `--json`: machine output on stdout. */
  json: boolean;
  /** Style for stdout (colorless unless stdout is a terminal without NO_COLOR). */
  style: Style;
  /** Style for stderr. */
  errStyle: Style;
  /** `--host` / `JITD_HOST`: the ssh:// URL of a remote daemon, if any. */
  host: string | undefined;
  /** The local socket path from --socket, --config, the environment or ./config/jitd.json. */
  socketPath(): Promise<string>;
  /** Connects to the daemon, locally or over ssh (once; later calls return the same client). */
  connect(): Promise<ControlClient>;
  /** Writes human output to stdout (any control character not jitctl's own styling is escaped). */
  out(text: string): void;
  /** Writes data to stdout exactly as given (`compose` to a pipe or file). */
  exact(text: string): void;
  /** Writes one line to stderr. */
  warn(line: string): void;
}

export interface Command {
  name: string;
  /** e.g. `answer ID [TEXT]` */
  usage: string;
  summary: string;
  /** Lines of detail for `jitctl CMD --help`. */
  details?: string[];
  options: OptionSpec;
  /** Positional arguments after the command name: [min, max] (max Infinity for "rest"). */
  args: [number, number];
  run(ctx: CommandContext, args: string[], values: Record<string, unknown>): Promise<number>;
}
