/**
 * The built jitd started the way jitd.service starts it: config outside the library (like
 * /etc/jitd/jitd.json, stateDir and socketPath unset), and the environment systemd sets —
 * STATE_DIRECTORY, RUNTIME_DIRECTORY (0750, as RuntimeDirectoryMode=), CREDENTIALS_DIRECTORY
 * holding `openai-api-key`, NOTIFY_SOCKET. Checks that state, socket and key end up where the
 * unit expects, and that readiness reaches a fake NOTIFY_SOCKET (python3 listener: Node cannot
 * bind an AF_UNIX datagram socket).
 *
 * Runs dist/bin/jitd.js (npm test builds it first); skips, saying so, when it is not built.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JITD, jitctl, startDaemon, type RunningDaemon } from '../support/daemon-process.js';

const BUILT = existsSync(resolve('dist/bin/jitd.js'));
const HAS_NOTIFY =
  !spawnSync('systemd-notify', ['--version'], { stdio: 'ignore' }).error &&
  !spawnSync('python3', ['-c', 'import socket; socket.AF_UNIX'], { stdio: 'ignore' }).error;
const SKIP = BUILT ? '' : ' (skipped: dist/bin/jitd.js is not built; run npm run build or npm test)';
const built = it.skipIf(!BUILT);

/** The primary group of the user running the tests: what Group=jitd is to the service. */
const PRIMARY_GROUP = spawnSync('id', ['-gn'], { encoding: 'utf8' }).stdout.trim();

const LISTENER = String.raw`
import json, os, socket, sys, array
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print(json.dumps({"ready": True}), flush=True)
while True:
    msg, anc, _f, _a = s.recvmsg(65536, socket.CMSG_SPACE(16 * 4))
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            a = array.array("i"); a.frombytes(data[: len(data) - len(data) % 4])
            for fd in a: os.close(fd)
    text = msg.decode("utf-8", "replace")
    probe = None
    if "READY=1" in text.split("\n") and len(sys.argv) > 2:
        # Is the control socket answering at the moment readiness is reported?
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            c.connect(sys.argv[2]); probe = True
        except OSError:
            probe = False
        finally:
            c.close()
    print(json.dumps({"msg": text, "socketUp": probe}), flush=True)
`;

interface Layout {
  root: string;
  configFile: string;
  library: string;
  mapFile: string;
  stateDir: string;
  runtimeDir: string;
  credsDir: string;
  socketPath: string;
  env: NodeJS.ProcessEnv;
}

let root: string | undefined;
let daemon: RunningDaemon | undefined;
let listener: ChildProcess | undefined;

afterEach(async () => {
  await daemon?.stop('SIGKILL');
  daemon = undefined;
  listener?.kill('SIGKILL');
  listener = undefined;
  if (root) await rm(root, { recursive: true, force: true });
  root = undefined;
});

/** /etc/jitd, /srv/prompts, /var/lib/jitd, /run/jitd and the credentials dir, in a temp root. */
async function serviceLayout(config: Record<string, unknown>, key: string | undefined): Promise<Layout> {
  root = await mkdtemp(join(tmpdir(), 'jitd-svc-'));
  const etc = join(root, 'etc');
  const library = join(root, 'srv');
  const stateDir = join(root, 'state');
  const runtimeDir = join(root, 'run');
  const credsDir = join(root, 'creds');
  await mkdir(etc);
  await mkdir(join(library, 'config'), { recursive: true });
  await mkdir(join(library, 'components', 'personas'), { recursive: true });
  await mkdir(stateDir, { mode: 0o700 });
  await mkdir(runtimeDir);
  await chmod(runtimeDir, 0o750);
  await mkdir(credsDir, { mode: 0o700 });
  if (key !== undefined) await writeFile(join(credsDir, 'openai-api-key'), key, { mode: 0o400 });
  await writeFile(join(library, 'components', 'personas', 'sre.txt'), 'You are an SRE.\n');
  const mapFile = join(library, 'config', 'goal_map.json');
  await writeFile(mapFile, JSON.stringify({ DIAGNOSE: { persona: 'sre.txt', protocol: 'drilldown.txt' } }, null, 2));
  const configFile = join(etc, 'jitd.json');
  await writeFile(configFile, JSON.stringify({ mapFile, componentsDir: join(library, 'components'), debounceMs: 50, ...config }, null, 2));
  return {
    root,
    configFile,
    library,
    mapFile,
    stateDir,
    runtimeDir,
    credsDir,
    socketPath: join(runtimeDir, 'jitd.sock'),
    env: {
      STATE_DIRECTORY: stateDir,
      RUNTIME_DIRECTORY: runtimeDir,
      CREDENTIALS_DIRECTORY: credsDir,
      OPENAI_API_KEY: undefined,
      JITD_CONFIG: undefined,
      JITD_SOCKET: undefined,
      NOTIFY_SOCKET: undefined,
    },
  };
}

/**
 * A fake service manager on `path`; returns the datagrams received so far. On READY=1 it
 * tries to connect to `probeSocket` and appends " [socket up]" or " [socket down]".
 */
async function fakeNotifySocket(path: string, probeSocket: string): Promise<() => string[]> {
  const child = spawn('python3', ['-u', '-c', LISTENER, path, probeSocket], { stdio: ['ignore', 'pipe', 'inherit'] });
  listener = child;
  const got: string[] = [];
  let buf = '';
  await new Promise<void>((ready, fail) => {
    child.once('exit', (code) => fail(new Error(`notify listener exited with ${code}`)));
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = JSON.parse(buf.slice(0, nl)) as { ready?: boolean; msg?: string; socketUp?: boolean | null };
        buf = buf.slice(nl + 1);
        if (line.ready) ready();
        else if (line.msg !== undefined && line.msg !== 'BARRIER=1') {
          got.push(line.socketUp == null ? line.msg : `${line.msg} [socket ${line.socketUp ? 'up' : 'down'}]`);
        }
      }
    });
  });
  return () => got;
}

async function eventually<T>(read: () => T, ok: (v: T) => boolean): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const v = read();
    if (ok(v)) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  return read();
}

describe(`jitd in the environment jitd.service gives it${SKIP}`, () => {
  built(
    'state goes to $STATE_DIRECTORY, the socket to $RUNTIME_DIRECTORY/jitd.sock (0660 in 0750 with socketGroup), the key comes from $CREDENTIALS_DIRECTORY',
    async () => {
      // provider openai without baseURL: jitd refuses to start unless it finds the key.
      const l = await serviceLayout({ socketGroup: PRIMARY_GROUP, provider: { kind: 'openai' } }, 'sk-test-from-credential\n');
      daemon = await startDaemon(l.configFile, l.socketPath, l.env);
      expect(daemon.child.exitCode, daemon.stderr.join('')).toBeNull();

      const sock = await lstat(l.socketPath);
      expect(sock.isSocket()).toBe(true);
      expect(sock.mode & 0o777).toBe(0o660);
      expect((await stat(l.runtimeDir)).mode & 0o777).toBe(0o750);

      const status = await jitctl(['--socket', l.socketPath, '--json', 'status', '--sync']);
      expect(status.code, status.stderr).toBe(0);
      expect(JSON.parse(status.stdout).provider).toMatch(/openai/);
      const pending = await jitctl(['--socket', l.socketPath, '--json', 'pending']);
      expect(JSON.parse(pending.stdout)).toHaveLength(1);

      // Its state is in the state directory, and nothing of jitd's landed next to the config
      // (read-only /etc under the unit) or in the library outside map and components.
      expect((await readdir(l.stateDir)).length).toBeGreaterThan(0);
      expect(await readdir(join(l.root, 'etc'))).toEqual(['jitd.json']);
      expect((await readdir(l.library)).sort()).toEqual(['components', 'config']);
      expect(daemon.logs.join('\n')).not.toContain('sk-test-from-credential');

      expect(await daemon.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    },
  );

  built('without socketGroup the socket in $RUNTIME_DIRECTORY is 0600 and its directory 0700', async () => {
    const l = await serviceLayout({ provider: { kind: 'template' } }, undefined);
    daemon = await startDaemon(l.configFile, l.socketPath, l.env);
    expect(daemon.child.exitCode, daemon.stderr.join('')).toBeNull();
    expect((await lstat(l.socketPath)).mode & 0o777).toBe(0o600);
    expect((await stat(l.runtimeDir)).mode & 0o777).toBe(0o700);
    expect(await daemon.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  // `jitctl --config` runs in a login shell, without the RUNTIME_DIRECTORY systemd gives jitd:
  // only an explicit socketPath (as in the README's /etc/jitd/jitd.json) points both at one socket.
  built('jitctl --config on the README config (explicit socketPath) reaches the service from a plain shell', async () => {
    const l = await serviceLayout({ socketGroup: PRIMARY_GROUP, provider: { kind: 'template' } }, undefined);
    const readme = { ...JSON.parse(await readFile(l.configFile, 'utf8')), socketPath: l.socketPath };
    await writeFile(l.configFile, JSON.stringify(readme, null, 2));
    daemon = await startDaemon(l.configFile, l.socketPath, l.env);
    expect(daemon.child.exitCode, daemon.stderr.join('')).toBeNull();
    expect((await lstat(l.socketPath)).mode & 0o777).toBe(0o660);
    expect((await stat(l.runtimeDir)).mode & 0o777).toBe(0o750);
    const shell = { STATE_DIRECTORY: undefined, RUNTIME_DIRECTORY: undefined, JITD_SOCKET: undefined, JITD_CONFIG: undefined };
    const st = await jitctl(['--config', l.configFile, '--json', 'status'], { env: shell });
    expect(st.code, st.stderr).toBe(0);
    expect(JSON.parse(st.stdout).pid).toBe(daemon.child.pid);
    expect(await daemon.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  built('jitctl --config on a config without socketPath cannot see $RUNTIME_DIRECTORY: exit 3 naming the path it tried', async () => {
    const l = await serviceLayout({ provider: { kind: 'template' } }, undefined);
    daemon = await startDaemon(l.configFile, l.socketPath, l.env);
    const shell = { STATE_DIRECTORY: undefined, RUNTIME_DIRECTORY: undefined, JITD_SOCKET: undefined, JITD_CONFIG: undefined };
    const st = await jitctl(['--config', l.configFile, 'status'], { env: shell });
    expect(st.code).toBe(3);
    expect(st.stderr).toContain(join(l.root, '.jitd', 'jitd.sock'));
    expect(await daemon.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  built("the unit's SetCredential= fallback (a lone newline, no key file) counts as no key: openai without baseURL refuses to start, exit 2", async () => {
    const l = await serviceLayout({ provider: { kind: 'openai' } }, '\n');
    const child = spawn(process.execPath, [JITD, '--config', l.configFile], {
      env: { ...process.env, ...l.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).toBe(2);
    expect(stderr).toMatch(/no API key/);
  });

  it.skipIf(!BUILT || !HAS_NOTIFY)(
    `READY=1 (with jitd's MAINPID) reaches NOTIFY_SOCKET only when the control socket already answers; STOPPING=1 on SIGTERM${
      HAS_NOTIFY ? '' : ' (skipped: needs systemd-notify and python3)'
    }`,
    async () => {
      const l = await serviceLayout({ provider: { kind: 'template' } }, undefined);
      const notifySocket = join(l.root, 'notify.sock');
      const received = await fakeNotifySocket(notifySocket, l.socketPath);
      daemon = await startDaemon(l.configFile, l.socketPath, { ...l.env, NOTIFY_SOCKET: notifySocket });
      expect(daemon.child.exitCode, daemon.stderr.join('')).toBeNull();
      const ready = await eventually(received, (m) => m.length >= 1);
      expect(ready[0]).toContain('READY=1');
      expect(ready[0]).toContain(`MAINPID=${daemon.child.pid}`);
      expect(ready[0]).toMatch(/\[socket up\]$/);

      expect(await daemon.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      const all = await eventually(received, (m) => m.length >= 2);
      expect(all.slice(1)).toContain('STOPPING=1');
    },
  );
});
