/**
 * The `jitd` command line, shared by the production bin (src/bin/jitd.ts) and the test entry
 * point (test/support/jitd-under-test.mjs): parses arguments, starts the daemon, and turns every
 * start-up error into one line on stderr and an exit code (2 usage or config, 1 anything else).
 * The two differ only in the {@link RunDaemonOptions} they pass.
 */
import { parseArgs } from 'node:util';
import { JitdError } from '../fsio/errors.js';
import { VERSION } from '../version.js';
import { runDaemon, type RunDaemonOptions } from './run-daemon.js';

const USAGE = `Usage: jitd [--config FILE]

Keeps a prompt-component library consistent with its goal map and fills missing
components just in time. Runs in the foreground; logs JSON lines to stdout.

Options:
  -c, --config FILE   configuration file (default: $JITD_CONFIG, else config/jitd.json)
  -h, --help          show this help
  -V, --version       show the version
`;

/** Runs jitd with `argv` (without node and the script) until it stops; answers the exit code. */
export async function jitdMain(argv: string[], env: NodeJS.ProcessEnv, options: RunDaemonOptions = {}): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`jitd: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const configFile = values.config ?? env.JITD_CONFIG ?? 'config/jitd.json';
  try {
    const daemon = await runDaemon(configFile, env, options);
    return await daemon.exited;
  } catch (err) {
    const code = err instanceof JitdError ? err.code : undefined;
    process.stderr.write(`jitd: ${(err as Error).message}\n`);
    return code === 'ECONFIG' || code === 'ECREDENTIAL' ? 2 : 1;
  }
}

/** Binds {@link jitdMain} to this process: its arguments, environment and exit code. */
export function runJitdProcess(options: RunDaemonOptions = {}): void {
  process.on('unhandledRejection', (err) => {
    process.stderr.write(`jitd: fatal: ${(err as Error)?.stack ?? err}\n`);
    process.exit(1);
  });
  void jitdMain(process.argv.slice(2), process.env, options).then((code) => process.exit(code));
}
