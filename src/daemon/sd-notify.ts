/**
 * systemd readiness notification (sd_notify) without native modules.
 *
 * The protocol is one AF_UNIX *datagram* (`READY=1\n...`) to the socket named by
 * `$NOTIFY_SOCKET`. Node cannot send that: `dgram` speaks only UDP, and `net` only stream
 * sockets (connecting one to a datagram socket fails with EPROTOTYPE). The options were:
 *
 *  - a native addon (sd-notify, unix-dgram): needs a compiler at install time, against the
 *    "no native modules" rule of the package;
 *  - a python3/socat one-liner: neither is guaranteed on a server running systemd;
 *  - Type=exec plus an ExecStartPost= that polls the control socket: works, but is not
 *    "ready after reconcile, lock and socket" from the daemon's own mouth, and there is no
 *    STOPPING=1;
 *  - spawning `systemd-notify`, systemd's own client, which exists wherever systemd set
 *    `$NOTIFY_SOCKET`. **Chosen.**
 *
 * What that choice implies (checked against systemd 252, Debian 12):
 *
 *  - The datagram's sender is the systemd-notify child, not jitd. An unprivileged
 *    systemd-notify cannot claim jitd's PID in SCM_CREDENTIALS (the kernel refuses; it then
 *    retries under its own PID), so the unit needs `NotifyAccess=all`; `main` or `exec`
 *    would drop the message. `READY=1` also carries `MAINPID=<jitd's pid>` (`--pid=`), which
 *    is a no-op when jitd already is the main process and names it if a wrapper started it.
 *  - A child that exits before PID 1 reads its message cannot be attributed to the unit.
 *    systemd-notify (>= 246) closes that race itself: unless given --no-block it sends
 *    `BARRIER=1` with a pipe and waits (up to 5 s) until the manager has processed both
 *    messages. So every call here costs one short-lived process and resolves only once
 *    systemd has the message; calls are serialised so READY=1 always precedes STOPPING=1.
 *  - The child gets only `NOTIFY_SOCKET` and `PATH` in its environment (no API key).
 *
 * Every function is a no-op when `$NOTIFY_SOCKET` is unset (not under systemd, or a
 * Type= other than notify) and never throws or rejects: the outcome is returned, and a
 * failure is also passed to `onError` when given (e.g. to log it with pino).
 */
import { spawn } from 'node:child_process';

export type NotifyOutcome =
  /** systemd-notify exited 0: the manager received (and, with the barrier, processed) it. */
  | { status: 'sent'; message: string }
  /** `$NOTIFY_SOCKET` is unset: nothing to tell. */
  | { status: 'skipped'; message: string }
  /** Could not notify; `error` is a one-line reason worth a log line at warn level. */
  | { status: 'failed'; message: string; error: string };

export interface NotifyOptions {
  /** Environment to read `NOTIFY_SOCKET` and `PATH` from. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** The helper to run. Default: `systemd-notify` looked up on `PATH`. */
  command?: string;
  /** Give up (and kill the helper) after this long. Default 10 s (the barrier waits 5 s). */
  timeoutMs?: number;
  /** Called with a failure, in addition to it being returned. Must not throw. */
  onError?: (error: Error, outcome: NotifyOutcome) => void;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** systemd caps STATUS= text in practice; keep a status line short and single-line. */
const MAX_STATUS_CHARS = 512;
const MAX_STDERR_CHARS = 2_000;

/** Calls run one after another, so the manager sees them in the order they were made. */
let queue: Promise<unknown> = Promise.resolve();

/** True when a service manager asked for notifications (`$NOTIFY_SOCKET` set and non-empty). */
export function notifyEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return typeof env.NOTIFY_SOCKET === 'string' && env.NOTIFY_SOCKET !== '';
}

/** One field value on one line: newlines would start a new (forged) field such as READY=1. */
function oneLine(text: string, max: number): string {
  const flat = text.replace(/[\r\n\0]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Hands a failure to `onError`; a logging callback that throws must not become a crash. */
function report(outcome: NotifyOutcome, opts: NotifyOptions): void {
  if (outcome.status !== 'failed' || !opts.onError) return;
  try {
    opts.onError(new Error(outcome.error), outcome);
  } catch {
    // ignored on purpose
  }
}

function run(args: readonly string[], message: string, opts: NotifyOptions): Promise<NotifyOutcome> {
  const env = opts.env ?? process.env;
  const notifySocket = env.NOTIFY_SOCKET;
  if (!notifyEnabled(env) || notifySocket === undefined) {
    return Promise.resolve({ status: 'skipped', message });
  }
  const command = opts.command ?? 'systemd-notify';
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const childEnv: NodeJS.ProcessEnv = { NOTIFY_SOCKET: notifySocket };
  if (env.PATH !== undefined) childEnv.PATH = env.PATH;

  return new Promise<NotifyOutcome>((resolve) => {
    let settled = false;
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    const finish = (outcome: NotifyOutcome): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      report(outcome, opts);
      resolve(outcome);
    };
    const fail = (error: string): void => finish({ status: 'failed', message, error });

    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(command, args, { env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      // spawn() throws synchronously only for invalid arguments; report, never rethrow.
      fail(`cannot start ${command}: ${(err as Error).message}`);
      return;
    }
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(`${command} did not finish within ${timeoutMs} ms (is the service manager answering on ${notifySocket}?)`);
    }, timeoutMs);
    timer.unref();

    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      if (stderr.length < MAX_STDERR_CHARS) stderr += chunk;
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      fail(
        err.code === 'ENOENT' ? `${command} not found on PATH (it ships with systemd; readiness cannot be reported)` : `cannot run ${command}: ${err.message}`,
      );
    });
    child.on('close', (code, signal) => {
      if (code === 0) {
        finish({ status: 'sent', message });
        return;
      }
      const why = oneLine(stderr, MAX_STDERR_CHARS) || (signal ? `killed by ${signal}` : `exit code ${code}`);
      fail(`${command} ${args.join(' ')} failed: ${why}`);
    });
  });
}

function enqueue(args: readonly string[], message: string, opts: NotifyOptions): Promise<NotifyOutcome> {
  const next = queue.then(() => run(args, message, opts));
  queue = next.catch(() => undefined);
  return next;
}

/**
 * Sends raw `KEY=VALUE` assignments (sd_notify(3)); each is flattened to one line.
 * Prefer the named helpers below.
 */
export function sdNotify(assignments: readonly string[], opts: NotifyOptions = {}): Promise<NotifyOutcome> {
  const fields = assignments.map((a) => oneLine(a, 4096)).filter((a) => /^[A-Z_][A-Z0-9_]*=/.test(a));
  if (fields.length === 0 && notifyEnabled(opts.env ?? process.env)) {
    const outcome: NotifyOutcome = { status: 'failed', message: '', error: 'no KEY=VALUE assignment to send' };
    report(outcome, opts);
    return Promise.resolve(outcome);
  }
  return enqueue(fields, fields.join('\n'), opts);
}

/**
 * `READY=1` plus `MAINPID=<this process>`: call once start-up is complete — after the
 * reconcile, with the library lock held and the control socket listening.
 */
export function notifyReady(opts: NotifyOptions = {}): Promise<NotifyOutcome> {
  return enqueue(['--ready', `--pid=${process.pid}`], `READY=1\nMAINPID=${process.pid}`, opts);
}

/** `STOPPING=1`: call as soon as shutdown begins (SIGTERM/SIGINT), before draining work. */
export function notifyStopping(opts: NotifyOptions = {}): Promise<NotifyOutcome> {
  return enqueue(['STOPPING=1'], 'STOPPING=1', opts);
}

/**
 * `STATUS=<text>`, shown by `systemctl status jitd`. One line, at most 512 characters.
 * Each call starts a process: send it on meaningful changes, not on every event.
 */
export function notifyStatus(text: string, opts: NotifyOptions = {}): Promise<NotifyOutcome> {
  const status = oneLine(text, MAX_STATUS_CHARS);
  return enqueue([`STATUS=${status}`], `STATUS=${status}`, opts);
}
