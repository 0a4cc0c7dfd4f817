/**
 * Remote use (contract §10): `--host ssh://[user@]host[:port][/socket/path]` (or `JITD_HOST`) runs
 * `ssh -T [-p PORT] -- [user@]host jitctl dial-stdio [--socket PATH]` and speaks the socket
 * protocol over ssh's standard input and output, as `docker -H ssh://` does.
 *
 * Invariant: every way the connection can fail ends in a DaemonUnreachableError (exit 3)
 * carrying ssh's own message (its standard error: "Connection refused", "Permission denied
 * (publickey)", the remote jitctl's "jitd is not running", "Connection … closed by remote host").
 * ssh is found on PATH and keeps the person's own ssh configuration (keys, agent, ControlMaster,
 * ProxyJump); passwords and host-key questions go through the terminal as ssh does them.
 */
import { spawn } from 'node:child_process';
import { Duplex } from 'node:stream';
import { DaemonUnreachableError } from '../ipc/client.js';
import { UsageError } from './errors.js';

export interface SshTarget {
  /** `host` or `user@host`, as ssh takes it. */
  destination: string;
  port?: number;
  /** The socket path on the remote host, if the URL names one. */
  socketPath?: string;
}

/** Parses `ssh://[user@]host[:port][/socket/path]`; anything else is a usage error. */
export function parseSshUrl(url: string): SshTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`--host ${JSON.stringify(url)}: not a URL; expected ssh://[user@]host[:port][/socket/path]`);
  }
  if (u.protocol !== 'ssh:') throw new UsageError(`--host ${JSON.stringify(url)}: only ssh:// is supported`);
  if (!u.hostname) throw new UsageError(`--host ${JSON.stringify(url)}: no host`);
  if (u.password) throw new UsageError(`--host ${JSON.stringify(url)}: a password in the URL is not supported (use an ssh key or agent)`);
  if (u.search || u.hash) throw new UsageError(`--host ${JSON.stringify(url)}: a query or fragment is not supported`);
  const user = decodeURIComponent(u.username);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  // ssh would read a leading "-" as an option.
  if (host.startsWith('-') || user.startsWith('-')) throw new UsageError(`--host ${JSON.stringify(url)}: a host or user may not start with "-"`);
  const path = decodeURIComponent(u.pathname);
  return {
    destination: user ? `${user}@${host}` : host,
    ...(u.port ? { port: Number(u.port) } : {}),
    ...(path && path !== '/' ? { socketPath: path } : {}),
  };
}

/** One word for the remote shell (ssh joins its command words with spaces for `sh -c`). */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** ssh's arguments for a target: `-T [-p PORT] -- DEST jitctl dial-stdio [--socket PATH | --config FILE]`. */
export function sshArgs(target: SshTarget, remote: { socket?: string | undefined; config?: string | undefined }): string[] {
  const socket = remote.socket ?? target.socketPath;
  const command = ['jitctl', 'dial-stdio', ...(socket ? ['--socket', socket] : remote.config ? ['--config', remote.config] : [])];
  return ['-T', ...(target.port ? ['-p', String(target.port)] : []), '--', target.destination, command.map(shellQuote).join(' ')];
}

/** ssh's standard error, kept for the error message (bounded: a chatty ssh cannot fill memory). */
const MAX_STDERR = 64 * 1024;

/**
 * A duplex stream over a running `ssh`: what is written goes to its stdin, what it prints on
 * stdout is read. It ends once ssh has exited; a non-zero exit destroys it with ssh's message.
 */
class SshStream extends Duplex {
  constructor(
    private readonly child: ReturnType<typeof spawn>,
    label: string,
  ) {
    super();
    let stderr = '';
    let spawnError: Error | undefined;
    child.stderr?.setEncoding('utf8').on('data', (s: string) => {
      if (stderr.length < MAX_STDERR) stderr += s;
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) child.stdout?.pause();
    });
    child.stdin?.on('error', () => undefined);
    child.on('error', (err) => (spawnError = err));
    child.on('close', (code, signal) => {
      const message = stderr
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .join('; ');
      if (spawnError) this.destroy(new DaemonUnreachableError(`cannot run ssh for ${label}: ${spawnError.message}`, spawnError));
      else if (code === 0) this.push(null);
      else
        this.destroy(
          new DaemonUnreachableError(message ? `${label}: ${message}` : `${label}: ssh ${signal ? `was killed by ${signal}` : `exited with status ${code}`}`),
        );
    });
  }

  override _read(): void {
    this.child.stdout?.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (!this.child.stdin || this.child.stdin.destroyed) return done();
    this.child.stdin.write(chunk, () => done());
  }

  override _final(done: (err?: Error | null) => void): void {
    this.child.stdin?.end();
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    done(err);
  }
}

/**
 * Starts ssh to `url`'s host and answers the stream to talk over. ssh's own failures arrive on
 * the stream as an error once it exits (a first call then rejects with ssh's message).
 */
export function openSsh(url: string, remote: { socket?: string | undefined; config?: string | undefined }, env: NodeJS.ProcessEnv): Duplex {
  const target = parseSshUrl(url);
  const child = spawn('ssh', sshArgs(target, remote), { stdio: ['pipe', 'pipe', 'pipe'], env });
  return new SshStream(child, url);
}
