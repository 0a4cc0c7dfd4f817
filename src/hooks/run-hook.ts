/**
 * Runs one hook command (contract §9) as a real child process, bounded in every way a command can
 * misbehave, and reports how it ended. It never throws and never rejects.
 *
 * - No shell: `argv[0]` is found on PATH (or relative to `cwd`), the rest are its arguments.
 * - The event goes to standard input as one JSON line; a hook that does not read it is fine.
 * - Its own process group (`detached`): on timeout the whole group gets SIGTERM, then SIGKILL
 *   after a grace period, so a shell script's children die with it.
 * - Output is drained as it comes (a hook never blocks on a full pipe): the first few KiB of
 *   stdout and stderr are kept for the log, the rest is counted and discarded; past
 *   {@link MAX_OUTPUT_BYTES} in all the hook is killed as a flood.
 * - The daemon's secrets stay out of its environment (OPENAI_API_KEY, CREDENTIALS_DIRECTORY,
 *   NOTIFY_SOCKET); the JITD_* variables carry the event. An environment value cannot hold NUL,
 *   so a NUL in a goal becomes U+FFFD there (standard input has the exact value).
 */
import { spawn } from 'node:child_process';

/** Bytes of each stream kept for the log. */
export const KEPT_OUTPUT_BYTES = 4096;
/** A hook writing more than this in all (stdout + stderr) is killed: the daemon does not pay for a flood. */
export const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
/** Time between SIGTERM and SIGKILL once a hook is being killed. */
const KILL_GRACE_MS = 2000;
/** How long output is still drained after the hook exited, when its pipes stay open. */
const EXIT_DRAIN_MS = 1000;
/** Variables of the daemon a hook never inherits. */
const WITHHELD_ENV = [
  'OPENAI_API_KEY',
  'CREDENTIALS_DIRECTORY',
  'NOTIFY_SOCKET',
  'LISTEN_FDS',
  'LISTEN_PID',
  'LISTEN_FDNAMES',
  'WATCHDOG_USEC',
  'WATCHDOG_PID',
];

export interface HookRun {
  argv: readonly string[];
  /** One JSON object, written to standard input followed by a newline. */
  input: unknown;
  /** JITD_* variables added to the environment. */
  vars: Record<string, string>;
  timeoutMs: number;
  cwd: string;
  /** The daemon's environment, minus {@link WITHHELD_ENV}. */
  baseEnv?: NodeJS.ProcessEnv;
}

export interface HookOutcome {
  /** Exit 0 within the timeout, output within bounds. */
  ok: boolean;
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Killed for writing more than {@link MAX_OUTPUT_BYTES}. */
  flooded: boolean;
  /** The command could not be started (ENOENT, EACCES...). */
  spawnError?: string;
  pid?: number;
  durationMs: number;
  stdoutBytes: number;
  stderrBytes: number;
  /** The first {@link KEPT_OUTPUT_BYTES} of each stream. */
  stdoutHead: string;
  stderrHead: string;
}

/** The hook's environment: the daemon's without its secrets, plus the event's variables. */
function hookEnv(base: NodeJS.ProcessEnv, vars: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const k of WITHHELD_ENV) delete env[k];
  for (const [k, v] of Object.entries(vars)) env[k] = v.replace(/\0/g, '\ufffd');
  return env;
}

/** Runs `run.argv` and resolves with how it ended. */
export function runHook(run: HookRun): Promise<HookOutcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    const kept = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
    const bytes = { stdout: 0, stderr: 0 };
    let timedOut = false;
    let flooded = false;
    let spawnError: string | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    let done = false;

    const child = spawn(run.argv[0] as string, run.argv.slice(1), {
      cwd: run.cwd,
      env: hookEnv(run.baseEnv ?? process.env, run.vars),
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });

    const killGroup = (signal: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // The group is gone already.
      }
    };
    const stop = () => {
      killGroup('SIGTERM');
      killTimer ??= setTimeout(() => killGroup('SIGKILL'), Math.min(KILL_GRACE_MS, run.timeoutMs));
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, run.timeoutMs);

    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      // Output a background grandchild still writes after the hook exited is not waited for.
      child.stdout?.destroy();
      child.stderr?.destroy();
      const head = (parts: Buffer[]) => Buffer.concat(parts).toString('utf8');
      resolve({
        ok: !timedOut && !flooded && spawnError === undefined && code === 0,
        code,
        signal,
        timedOut,
        flooded,
        ...(spawnError !== undefined ? { spawnError } : {}),
        ...(child.pid !== undefined ? { pid: child.pid } : {}),
        durationMs: Date.now() - started,
        stdoutBytes: bytes.stdout,
        stderrBytes: bytes.stderr,
        stdoutHead: head(kept.stdout),
        stderrHead: head(kept.stderr),
      });
    };

    for (const name of ['stdout', 'stderr'] as const) {
      child[name].on('data', (chunk: Buffer) => {
        const room = KEPT_OUTPUT_BYTES - Math.min(KEPT_OUTPUT_BYTES, bytes[name]);
        if (room > 0) kept[name].push(chunk.subarray(0, room));
        bytes[name] += chunk.length;
        if (!flooded && bytes.stdout + bytes.stderr > MAX_OUTPUT_BYTES) {
          flooded = true;
          stop();
        }
      });
      child[name].on('error', () => undefined);
    }
    child.on('error', (err: NodeJS.ErrnoException) => {
      spawnError ??= `${err.code ?? 'error'}: ${err.message}`;
      // A failed spawn emits no 'exit'; 'close' may follow, or not.
      if (child.pid === undefined) finish(null, null);
    });
    // 'close' comes once the pipes are drained too; a background grandchild that keeps them
    // open (`cmd &` in a script) must not keep the hook "running", so 'exit' ends it after a while.
    let exitTimer: NodeJS.Timeout | undefined;
    child.on('exit', (code, signal) => {
      exitTimer = setTimeout(() => finish(code, signal), EXIT_DRAIN_MS);
    });
    child.on('close', (code, signal) => {
      if (exitTimer) clearTimeout(exitTimer);
      finish(code, signal);
    });

    // A hook that does not read its input (or exits at once) must not fail the write.
    child.stdin.on('error', () => undefined);
    child.stdin.end(`${JSON.stringify(run.input)}\n`);
  });
}
