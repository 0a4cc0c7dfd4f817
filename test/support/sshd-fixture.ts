/**
 * A real OpenSSH server on 127.0.0.1 for the remote-use tests (contract §10): its own config, host
 * key and client key in a temp dir, started as `sshd -f CFG -D -e -p PORT` on a free
 * unprivileged port. The far side finds the built jitctl through a `jitctl` wrapper script put
 * first on the session's PATH (sshd's `SetEnv`), and the near side's `ssh` is a wrapper on
 * PATH that adds the generated key and skips host-key checking, so jitctl runs plain `ssh`.
 *
 * {@link startSshd} answers a reason instead of a server when it cannot run here (no sshd, no
 * ssh-keygen, sshd refusing to start): the tests then skip and say why.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';

const SSHD_CANDIDATES = ['/usr/sbin/sshd', '/usr/local/sbin/sshd', '/sbin/sshd'];

export interface Sshd {
  dir: string;
  port: number;
  user: string;
  /** Directory holding the `ssh` and `jitctl` wrappers: put it first on PATH for jitctl. */
  binDir: string;
  /** `ssh://user@127.0.0.1:PORT` plus `path` (a socket path on the "remote" host). */
  url(path?: string): string;
  /** Kills the per-connection sshd processes (the sessions), leaving the listener up. */
  killSessions(): number;
  stop(): Promise<void>;
}

function which(cmd: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((res) => {
    const c = createConnection({ port, host: '127.0.0.1' });
    c.once('connect', () => {
      c.destroy();
      res(true);
    });
    c.once('error', () => res(false));
  });
}

/** The children of `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Starts sshd, or answers why it cannot run here. */
export async function startSshd(jitctlScript = resolve('dist/bin/jitctl.js')): Promise<Sshd | { skip: string }> {
  const sshd = SSHD_CANDIDATES.find((p) => existsSync(p));
  if (!sshd) return { skip: 'no sshd (install Debian openssh-server)' };
  const ssh = which('ssh');
  const keygen = which('ssh-keygen');
  if (!ssh || !keygen) return { skip: 'no ssh or ssh-keygen (install Debian openssh-client)' };
  const isRoot = process.getuid?.() === 0;
  // Run as root, sshd insists on its privilege-separation directory (the package's unit makes it).
  if (isRoot && !existsSync('/run/sshd')) {
    try {
      mkdirSync('/run/sshd', { mode: 0o755 });
    } catch (err) {
      return { skip: `sshd needs /run/sshd, which cannot be created: ${(err as Error).message}` };
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'jitd-sshd-'));
  const binDir = join(dir, 'bin');
  mkdirSync(binDir);
  for (const k of ['host_key', 'client_key']) execFileSync(keygen, ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, k)]);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_key.pub')));
  chmodSync(join(dir, 'authorized_keys'), 0o600);
  const port = await freePort();
  const user = userInfo().username;
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      // The temp dir sits under the world-writable /tmp, which StrictModes refuses.
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      `SetEnv PATH=${binDir}:/usr/local/bin:/usr/bin:/bin`,
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  writeFileSync(join(binDir, 'jitctl'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(jitctlScript)} "$@"\n`);
  writeFileSync(
    join(binDir, 'ssh'),
    `#!/bin/sh\nexec ${ssh} -F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR -i ${join(dir, 'client_key')} "$@"\n`,
  );
  chmodSync(join(binDir, 'jitctl'), 0o755);
  chmodSync(join(binDir, 'ssh'), 0o755);

  const child: ChildProcess = spawn(sshd, ['-f', join(dir, 'sshd_config'), '-D', '-e', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  let exited = false;
  child.once('exit', () => (exited = true));
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(port))) {
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      return { skip: `sshd did not start: ${stderr.trim() || 'no message'}` };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    dir,
    port,
    user,
    binDir,
    url: (path = '') => `ssh://${user}@127.0.0.1:${port}${path}`,
    killSessions() {
      const sessions = childrenOf(child.pid!);
      for (const pid of sessions) process.kill(pid, 'SIGKILL');
      return sessions.length;
    },
    async stop() {
      // Sessions outlive the listener; end them too.
      for (const pid of childrenOf(child.pid!)) process.kill(pid, 'SIGKILL');
      if (!exited) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
