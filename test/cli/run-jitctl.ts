/**
 * Runs the built jitctl (dist/bin/jitctl.js) as a real process, asynchronously (the daemon under
 * test lives in this process, so nothing may block its event loop), optionally in a pseudo-terminal.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export const JITCTL = resolve('dist/bin/jitctl.js');
const PTY_RUN = resolve('test/cli/pty-run.py');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Exactly the bytes written to stdout (for a pty: everything the terminal was sent). */
  bytes: Buffer;
}

export interface RunOptions {
  /** Written to stdin, which is then closed (a pipe, not a terminal). */
  input?: string;
  /** Extra environment; JITD_* and NO_COLOR from the test's own environment are removed. */
  env?: Record<string, string>;
  cwd?: string;
}

function baseEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of ['JITD_SOCKET', 'JITD_CONFIG', 'NO_COLOR', 'FORCE_COLOR', 'RUNTIME_DIRECTORY', 'STATE_DIRECTORY']) delete env[k];
  return { ...env, TERM: 'xterm', ...extra };
}

/** Fails clearly when the build is missing (npm test builds first; or run `npx tsc -p tsconfig.json`). */
export function assertBuilt(): void {
  if (!existsSync(JITCTL)) throw new Error(`${JITCTL} is missing: run \`npx tsc -p tsconfig.json\` first`);
}

function collect(cmd: string, args: string[], opts: RunOptions): Promise<Run> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, { env: baseEnv(opts.env), cwd: opts.cwd ?? process.cwd(), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => {
      const bytes = Buffer.concat(out);
      resolveRun({ code, stdout: bytes.toString('utf8'), stderr, bytes });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs `jitctl ARGS` with stdin, stdout and stderr as pipes. */
export function jitctl(args: string[], opts: RunOptions = {}): Promise<Run> {
  return collect(process.execPath, [JITCTL, ...args], opts);
}

export type PtyStep = ['expect' | 'send', string];

/** Runs `jitctl ARGS` in a pseudo-terminal driven by `steps`; stdout holds everything shown. */
export function jitctlPty(args: string[], steps: PtyStep[], opts: RunOptions = {}): Promise<Run> {
  return collect('python3', [PTY_RUN, JSON.stringify(steps), '--', process.execPath, JITCTL, ...args], opts);
}

export interface Interactive {
  /** What was written so far. */
  output(): { stdout: string; stderr: string };
  /** Resolves once stdout contains `text`. */
  until(text: string): Promise<void>;
  /** Writes one line to its stdin (a pipe). */
  send(line: string): void;
  /** Closes its stdin. */
  end(): void;
  exit: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

/** Runs `jitctl ARGS` with a stdin pipe the test writes step by step (e.g. `prompt`). */
export function jitctlInteractive(args: string[], opts: Omit<RunOptions, 'input'> = {}): Interactive {
  const child = spawn(process.execPath, [JITCTL, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: baseEnv({ NO_COLOR: '1', ...opts.env }),
    cwd: opts.cwd ?? process.cwd(),
  });
  let stdout = '';
  let stderr = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (stdout.includes(w.text)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
    check();
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdin.on('error', () => {});
  const exit = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
  return {
    output: () => ({ stdout, stderr }),
    until: (text) =>
      new Promise<void>((resolve) => {
        waiters.push({ text, resolve });
        check();
      }),
    send: (line) => void child.stdin.write(`${line}\n`),
    end: () => child.stdin.end(),
    exit,
    kill: (signal = 'SIGTERM') => void child.kill(signal),
  };
}
