#!/usr/bin/env node
/**
 * jitctl: the command-line client of the jitd control socket (contract §6). All logic lives in
 * src/cli/main.ts; this file only binds it to the process.
 */
import { main } from '../cli/main.js';

// A reader that goes away (`jitctl pending | head`) is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

const code = await main(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
});
process.exitCode = code;
