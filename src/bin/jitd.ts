#!/usr/bin/env node
/**
 * The `jitd` entry point: parses arguments, starts the daemon, and turns every start-up error
 * into one line on stderr and an exit code (2 usage or config, 1 anything else).
 */
import { parseArgs } from 'node:util';
import { JitdError } from '../fsio/errors.js';
import { runDaemon } from '../daemon/run-daemon.js';
import { VERSION } from '../version.js';

const USAGE = `Usage: jitd [--config FILE]

Keeps a prompt-component library consistent with its goal map and fills missing
components just in time. Runs in the foreground; logs JSON lines to stdout.

Options:
  -c, --config FILE   configuration file (default: $JITD_CONFIG, else config/jitd.json)
  -h, --help          show this help
  -V, --version       show the version
`;

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
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
  const configFile = values.config ?? process.env.JITD_CONFIG ?? 'config/jitd.json';
  try {
    const daemon = await runDaemon(configFile);
    return await daemon.exited;
  } catch (err) {
    const code = err instanceof JitdError ? err.code : undefined;
    process.stderr.write(`jitd: ${(err as Error).message}\n`);
    return code === 'ECONFIG' || code === 'ECREDENTIAL' ? 2 : 1;
  }
}

process.on('unhandledRejection', (err) => {
  process.stderr.write(`jitd: fatal: ${(err as Error)?.stack ?? err}\n`);
  process.exit(1);
});

main().then((code) => process.exit(code));
