/**
 * sd-notify through the real `systemd-notify` against a fake $NOTIFY_SOCKET.
 *
 * Node cannot bind an AF_UNIX datagram socket, so the fake service manager is a small
 * python3 program: it binds the socket, records every datagram (text and the sender PID
 * from SCM_CREDENTIALS) as a JSON line, and closes any file descriptor it is handed — that
 * is how systemd-notify's BARRIER=1 handshake completes, as it does with the real PID 1.
 * The tests skip, naming the reason, only when python3 or systemd-notify is missing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { notifyEnabled, notifyReady, notifyStatus, notifyStopping, sdNotify, type NotifyOutcome } from '../../src/daemon/sd-notify.js';

function has(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

const HAS_PYTHON = has('python3', ['-c', 'import socket; socket.AF_UNIX']);
const HAS_NOTIFY = has('systemd-notify', ['--version']);
const SKIP_REASON = !HAS_PYTHON
  ? ' (skipped: python3, needed for the fake NOTIFY_SOCKET listener, is not installed)'
  : !HAS_NOTIFY
    ? ' (skipped: systemd-notify is not installed; install the systemd package)'
    : '';
const live = it.skipIf(SKIP_REASON !== '');

const LISTENER = String.raw`
import array, json, os, socket, sys
hold = len(sys.argv) > 2 and sys.argv[2] == "hold"  # never complete the BARRIER=1 handshake
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
print(json.dumps({"ready": True}), flush=True)
while True:
    msg, anc, _flags, _addr = s.recvmsg(65536, socket.CMSG_SPACE(16 * 4) + socket.CMSG_SPACE(12))
    pid = None
    fds = 0
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            a = array.array("i")
            a.frombytes(data[: len(data) - len(data) % 4])
            for fd in a:
                if not hold:
                    os.close(fd)
                fds += 1
        elif level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = array.array("i", data[:12])[0]
    print(json.dumps({"msg": msg.decode("utf-8", "replace"), "pid": pid, "fds": fds}), flush=True)
`;

interface Datagram {
  msg: string;
  pid: number | null;
  fds: number;
}

interface Listener {
  socketPath: string;
  /** Datagrams received so far, BARRIER=1 handshakes left out. */
  messages(): Datagram[];
  /** The datagrams once at least `count` have arrived (or after ~2 s). */
  received(count: number): Promise<Datagram[]>;
  stop(): void;
}

let dir: string;
const listeners: ChildProcess[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'jitd-sdnotify-'));
  writeFileSync(join(dir, 'listener.py'), LISTENER);
});

afterEach(() => {
  for (const child of listeners.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let seq = 0;
async function startListener(mode: 'normal' | 'hold' = 'normal'): Promise<Listener> {
  const socketPath = join(dir, `notify-${++seq}.sock`);
  const child = spawn('python3', ['-u', join(dir, 'listener.py'), socketPath, mode], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  listeners.push(child);
  const lines: Datagram[] = [];
  let buffered = '';
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`listener exited (${code}): ${stderr}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = JSON.parse(buffered.slice(0, nl)) as Datagram & { ready?: boolean };
        buffered = buffered.slice(nl + 1);
        if (line.ready) resolve();
        else lines.push(line);
      }
    });
  });
  const messages = () => lines.filter((l) => l.msg !== 'BARRIER=1');
  return {
    socketPath,
    messages,
    async received(count: number) {
      // The listener prints each datagram before it completes the barrier, but its stdout
      // pipe and systemd-notify's exit reach this process as separate events.
      for (let i = 0; i < 200 && messages().length < count; i++) await new Promise((r) => setTimeout(r, 10));
      return messages();
    },
    stop: () => child.kill('SIGKILL'),
  };
}

/** The fields of one datagram, e.g. { READY: '1', MAINPID: '123' }. */
function fields(msg: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of msg.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

function envFor(socketPath: string): NodeJS.ProcessEnv {
  return { NOTIFY_SOCKET: socketPath, PATH: process.env.PATH };
}

describe(`sd-notify via systemd-notify${SKIP_REASON}`, () => {
  live('notifyReady() delivers READY=1 with MAINPID of the daemon process to $NOTIFY_SOCKET', async () => {
    const l = await startListener();
    const outcome = await notifyReady({ env: envFor(l.socketPath) });
    expect(outcome).toMatchObject({ status: 'sent' });
    const got = await l.received(1);
    expect(got).toHaveLength(1);
    expect(fields(got[0]!.msg)).toMatchObject({ READY: '1', MAINPID: String(process.pid) });
  });

  live('systemd-notify waits for the manager: without the BARRIER=1 handshake the call fails, not silently succeeds', async () => {
    // This wait is what lets a short-lived child's message be attributed to the unit by PID 1.
    const l = await startListener('hold');
    const outcome = await notifyReady({ env: envFor(l.socketPath) });
    expect(outcome.status).toBe('failed');
    expect((outcome as Extract<NotifyOutcome, { status: 'failed' }>).error).toMatch(/barrier/i);
    expect(fields((await l.received(1))[0]!.msg)).toMatchObject({ READY: '1' });
  });

  live('notifyStopping() delivers STOPPING=1, after READY=1 even when both are fired at once', async () => {
    const l = await startListener();
    const env = envFor(l.socketPath);
    const [ready, stopping] = await Promise.all([notifyReady({ env }), notifyStopping({ env })]);
    expect(ready.status).toBe('sent');
    expect(stopping.status).toBe('sent');
    const got = (await l.received(2)).map((m) => fields(m.msg));
    expect(got).toHaveLength(2);
    expect(got[0]).toMatchObject({ READY: '1' });
    expect(got[1]).toEqual({ STOPPING: '1' });
  });

  live('notifyStatus() sends one STATUS= line; a newline in the text cannot forge READY=1', async () => {
    const l = await startListener();
    const outcome = await notifyStatus('3 waiting\nREADY=1', { env: envFor(l.socketPath) });
    expect(outcome.status).toBe('sent');
    const got = await l.received(1);
    expect(got).toHaveLength(1);
    expect(fields(got[0]!.msg)).toEqual({ STATUS: '3 waiting READY=1' });
  });

  live('sdNotify() passes raw KEY=VALUE assignments and drops anything that is not one', async () => {
    const l = await startListener();
    const outcome = await sdNotify(['RELOADING=1', '--ready', 'not an assignment'], { env: envFor(l.socketPath) });
    expect(outcome.status).toBe('sent');
    expect((await l.received(1)).map((m) => fields(m.msg))).toEqual([{ RELOADING: '1' }]);
  });

  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0 && has('setpriv', ['--version']);
  it.skipIf(SKIP_REASON !== '' || !asRoot)(
    `as an unprivileged user the datagram's sender is systemd-notify, not jitd — hence NotifyAccess=all${
      asRoot ? '' : ' (skipped: needs root and setpriv to drop to nobody)'
    }`,
    async () => {
      const l = await startListener();
      chmodSync(dir, 0o755);
      chmodSync(l.socketPath, 0o777);
      const wrapper = join(dir, 'as-nobody.sh');
      writeFileSync(wrapper, '#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups systemd-notify "$@"\n');
      chmodSync(wrapper, 0o755);
      const outcome = await notifyReady({ env: envFor(l.socketPath), command: wrapper });
      expect(outcome.status).toBe('sent');
      const [ready] = await l.received(1);
      expect(fields(ready!.msg)).toMatchObject({ READY: '1', MAINPID: String(process.pid) });
      // The kernel refused the claimed PID; systemd-notify resent under its own.
      expect(ready!.pid).not.toBe(process.pid);
      expect(ready!.pid).toBeGreaterThan(0);
    },
  );

  live('an unreachable NOTIFY_SOCKET yields a failed outcome and onError, never a throw', async () => {
    const errors: Error[] = [];
    const outcome = await notifyReady({
      env: envFor(join(dir, 'nobody-listens.sock')),
      onError: (e) => errors.push(e),
    });
    expect(outcome.status).toBe('failed');
    expect(errors).toHaveLength(1);
    expect((outcome as Extract<NotifyOutcome, { status: 'failed' }>).error).toMatch(/systemd-notify/);
  });
});

describe('sd-notify without a service manager or helper', () => {
  it('every call is a no-op when NOTIFY_SOCKET is unset: nothing is spawned, nothing fails', async () => {
    const errors: Error[] = [];
    const opts = { env: { PATH: process.env.PATH }, command: join(dir, 'must-not-run'), onError: (e: Error) => errors.push(e) };
    expect(notifyEnabled(opts.env)).toBe(false);
    const outcomes = await Promise.all([notifyReady(opts), notifyStopping(opts), notifyStatus('x', opts)]);
    expect(outcomes.map((o) => o.status)).toEqual(['skipped', 'skipped', 'skipped']);
    expect(errors).toEqual([]);
  });

  it('a missing systemd-notify yields a failed outcome naming it, and onError; the promise resolves', async () => {
    const errors: Error[] = [];
    const outcome = await notifyReady({
      env: { NOTIFY_SOCKET: join(dir, 'x.sock'), PATH: '/nonexistent' },
      onError: (e) => errors.push(e),
    });
    expect(outcome.status).toBe('failed');
    expect((outcome as Extract<NotifyOutcome, { status: 'failed' }>).error).toMatch(/systemd-notify not found/);
    expect(errors.map((e) => e.message)).toEqual([(outcome as Extract<NotifyOutcome, { status: 'failed' }>).error]);
  });

  it('an onError callback that throws does not make the notification throw', async () => {
    const outcome = await notifyStopping({
      env: { NOTIFY_SOCKET: join(dir, 'x.sock'), PATH: '/nonexistent' },
      onError: () => {
        throw new Error('logger broke');
      },
    });
    expect(outcome.status).toBe('failed');
  });

  it('a helper that hangs is killed after timeoutMs and reported as failed', async () => {
    const hang = join(dir, 'hang.sh');
    writeFileSync(hang, '#!/bin/sh\nexec sleep 30\n');
    chmodSync(hang, 0o755);
    const started = Date.now();
    const outcome = await notifyReady({ env: { NOTIFY_SOCKET: join(dir, 'x.sock') }, command: hang, timeoutMs: 300 });
    expect(outcome.status).toBe('failed');
    expect((outcome as Extract<NotifyOutcome, { status: 'failed' }>).error).toMatch(/did not finish within 300 ms/);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('the helper gets NOTIFY_SOCKET and PATH only, so secrets in the environment stay in jitd', async () => {
    const dump = join(dir, 'env.txt');
    const script = join(dir, 'dump-env.sh');
    writeFileSync(script, `#!/bin/sh\nenv > '${dump}'\n`);
    chmodSync(script, 0o755);
    const outcome = await notifyStopping({
      env: { NOTIFY_SOCKET: '/run/x.sock', PATH: '/usr/bin:/bin', OPENAI_API_KEY: 'sk-secret' },
      command: script,
    });
    expect(outcome.status).toBe('sent');
    const names = readFileSync(dump, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.slice(0, l.indexOf('=')));
    expect(names).toContain('NOTIFY_SOCKET');
    expect(names).not.toContain('OPENAI_API_KEY');
    // /bin/sh may add PWD, SHLVL and the like of its own; nothing else comes from jitd.
    expect(names.filter((n) => !['NOTIFY_SOCKET', 'PATH', 'PWD', 'SHLVL', '_', 'OLDPWD'].includes(n))).toEqual([]);
  });
});
