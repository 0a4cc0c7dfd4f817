/**
 * Real processes for end-to-end tests: the built `jitd` and `jitctl` from dist/ (npm test
 * builds first). Nothing is mocked here; the daemon runs on a temp library. A daemon started
 * with a JITD_TEST_* variable (fault injection) runs the test entry point
 * test/support/jitd-under-test.mjs instead, since the production bin ignores those variables.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { resolve } from 'node:path';

export const JITD = resolve('dist/bin/jitd.js');
export const JITCTL = resolve('dist/bin/jitctl.js');
/** The built daemon with fault-fs from JITD_TEST_CRASH_AT / JITD_TEST_FAULT / JITD_TEST_TRACE. */
export const JITD_UNDER_TEST = resolve('test/support/jitd-under-test.mjs');

/** Whether `env` asks for fault injection (a JITD_TEST_* variable with a value). */
export const wantsFaults = (env: NodeJS.ProcessEnv): boolean => Object.entries(env).some(([k, v]) => k.startsWith('JITD_TEST_') && v !== undefined);

export interface StartOptions {
  /** The script to run; default {@link JITD}, or {@link JITD_UNDER_TEST} when `env` wants faults. */
  bin?: string;
}

export interface RunningDaemon {
  child: ChildProcess;
  /** Every stdout line so far (pino JSON). */
  logs: string[];
  stderr: string[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function canConnect(path: string): Promise<boolean> {
  return new Promise((res) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('error', () => res(false));
  });
}

/** Spawns jitd without waiting for anything (start-up itself is under test). */
export function spawnDaemon(configFile: string, env: NodeJS.ProcessEnv = {}, opts: StartOptions = {}): RunningDaemon {
  const bin = opts.bin ?? (wantsFaults(env) ? JITD_UNDER_TEST : JITD);
  const child = spawn(process.execPath, [bin, '--config', configFile], {
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const stderr: string[] = [];
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    logs.push(...lines.filter(Boolean));
  });
  child.stderr!.on('data', (d: Buffer) => stderr.push(d.toString('utf8')));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.once('exit', (code, signal) => res({ code, signal })));
  let exited = false;
  void exit.then(() => (exited = true));
  return {
    child,
    logs,
    stderr,
    exit,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (!exited) child.kill(signal);
      return exit;
    },
  };
}

/** Spawns jitd and resolves once its socket accepts connections (or it exited). */
export async function startDaemon(configFile: string, socketPath: string, env: NodeJS.ProcessEnv = {}, opts: StartOptions = {}): Promise<RunningDaemon> {
  const d = spawnDaemon(configFile, env, opts);
  let exited = false;
  void d.exit.then(() => (exited = true));
  const deadline = Date.now() + 30_000;
  while (!exited && Date.now() < deadline) {
    if (d.logs.some((l) => l.includes('"jitd ready"')) && (await canConnect(socketPath))) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  return d;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built jitctl; `input` is piped to its stdin (not a terminal). */
export function jitctl(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [JITCTL, ...args], {
      env: { ...process.env, NO_COLOR: '1', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', rej);
    child.on('exit', (code) => res({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}
