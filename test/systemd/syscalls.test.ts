/**
 * SystemCallFilter= in jitd.service does not break Node.
 *
 * No service manager runs in the test environment, so the unit's seccomp filter cannot be
 * applied for real. Instead: run Node under strace doing everything jitd does (durable writes
 * with fsync and rename, inotify via chokidar, pino to stdout, an AF_UNIX control socket and
 * an abstract lock socket, a TCP connect and a DNS lookup, a worker thread, child processes —
 * systemd-notify among them) and check every system call made is in the set the unit allows,
 * as systemd-analyze itself expands the unit's SystemCallFilter= lines.
 *
 * Skips, saying why, when strace cannot trace here or systemd-analyze is missing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { JITD, jitctl } from '../support/daemon-process.js';

const MAIN = resolve('systemd/jitd.service');

function works(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

const HAVE_ANALYZE = works('systemd-analyze', ['--version']);
const CAN_TRACE = works('strace', ['-f', '-qq', '-o', '/dev/null', 'true']);
const SKIP = !HAVE_ANALYZE ? ' (skipped: systemd-analyze is not installed)' : !CAN_TRACE ? ' (skipped: strace is not installed or may not trace here)' : '';

/** Every group `systemd-analyze syscall-filter` knows, members possibly naming other groups. */
function syscallGroups(): Map<string, string[]> {
  const r = spawnSync('systemd-analyze', ['syscall-filter', '--no-pager'], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  const groups = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of r.stdout.split('\n')) {
    if (/^@[\w-]+$/.test(line)) groups.set(line, (current = []));
    else if (/^\s+[@\w-]+$/.test(line) && current) current.push(line.trim());
    else if (!line.trim()) current = undefined;
  }
  return groups;
}

function expand(item: string, groups: Map<string, string[]>, seen = new Set<string>()): string[] {
  if (!item.startsWith('@')) return [item];
  if (seen.has(item)) return [];
  seen.add(item);
  const members = groups.get(item);
  if (!members) throw new Error(`systemd-analyze does not know the group ${item}`);
  return members.flatMap((m) => expand(m, groups, seen));
}

/** The allowed set the unit's SystemCallFilter= lines produce (first line allow-list, `~` removes). */
function allowedByUnit(): { allowed: Set<string>; lines: string[] } {
  const groups = syscallGroups();
  const lines = readFileSync(MAIN, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('SystemCallFilter='))
    .map((l) => l.slice('SystemCallFilter='.length).trim());
  expect(lines[0]?.startsWith('~'), 'the first SystemCallFilter= line is an allow-list').toBe(false);
  const allowed = new Set<string>();
  for (const line of lines) {
    const deny = line.startsWith('~');
    for (const item of (deny ? line.slice(1) : line).split(/\s+/).filter(Boolean)) {
      for (const call of expand(item, groups)) {
        if (deny) allowed.delete(call);
        else allowed.add(call);
      }
    }
  }
  return { allowed, lines };
}

const require = createRequire(import.meta.url);
const url = (mod: string) => pathToFileURL(require.resolve(mod)).href;

const WORKLOAD = `
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import dns from 'node:dns/promises';
import os from 'node:os';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
const { pino } = await import(${JSON.stringify(url('pino'))});
const chokidar = await import(${JSON.stringify(url('chokidar'))});

const dir = process.argv[2];
const log = pino();
log.info({ dir }, 'workload start');

// Library: durable put (temp, fsync, rename, fsync dir), reads, scans, quarantine moves.
await fsp.mkdir(dir + '/components/protocols', { recursive: true, mode: 0o755 });
const watcher = chokidar.watch(dir, { ignoreInitial: true });
await new Promise((r) => watcher.on('ready', r));
const tmp = dir + '/components/protocols/.x.tmp';
const fh = await fsp.open(tmp, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, 0o644);
await fh.writeFile('text\\n'); await fh.sync(); await fh.close();
await fsp.rename(tmp, dir + '/components/protocols/a.txt');
const dh = await fsp.open(dir + '/components/protocols', 'r'); await dh.sync(); await dh.close();
await fsp.writeFile(dir + '/goal_map.json', JSON.stringify({ G: { protocol: 'a.txt' } }));
JSON.parse(await fsp.readFile(dir + '/goal_map.json', 'utf8'));
await fsp.readdir(dir + '/components', { withFileTypes: true, recursive: true });
await fsp.stat(dir + '/components/protocols/a.txt'); await fsp.lstat(dir); await fsp.realpath(dir);
await fsp.copyFile(dir + '/components/protocols/a.txt', dir + '/b.txt');
await fsp.unlink(dir + '/b.txt');
await new Promise((r) => setTimeout(r, 200));
await watcher.close();

// Control socket (0660 in a 0750 dir) and the abstract-socket library lock.
const sockDir = dir + '/run'; await fsp.mkdir(sockDir, { mode: 0o700 }); await fsp.chmod(sockDir, 0o750);
const server = net.createServer((s) => s.end(JSON.stringify({ id: 1, result: {} }) + '\\n'));
await new Promise((r) => server.listen(sockDir + '/jitd.sock', r));
await fsp.chmod(sockDir + '/jitd.sock', 0o660);
const c = net.connect(sockDir + '/jitd.sock'); await new Promise((r) => c.on('data', r)); c.destroy();
const lock = net.createServer(); await new Promise((r) => lock.listen('\\0jitd-syscall-test-' + process.pid, r));

// Network as the OpenAI client uses it (no traffic leaves the host).
await dns.lookup('localhost').catch(() => {});
await new Promise((r) => { const s = net.connect(9, '127.0.0.1'); s.on('error', r); s.on('connect', () => { s.destroy(); r(); }); });
await fetch('http://127.0.0.1:9/').catch(() => {});

// Odds and ends: crypto, worker thread, child processes (systemd-notify included).
createHash('sha256').update(randomBytes(32)).digest('hex');
os.availableParallelism(); os.hostname(); os.totalmem();
await new Promise((r) => new Worker('1', { eval: true }).on('exit', r));
await new Promise((r) => spawn('systemd-notify', ['--ready'], { env: { NOTIFY_SOCKET: dir + '/none.sock', PATH: process.env.PATH }, stdio: 'ignore' }).on('close', r).on('error', r));
const big = []; for (let i = 0; i < 300000; i++) big.push({ i, s: 'x'.repeat(16) });
server.close(); lock.close();
log.info('workload done');
`;

let work: string | undefined;
let daemonRoot: string | undefined;
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
  if (daemonRoot) rmSync(daemonRoot, { recursive: true, force: true });
});

/** System call names in an `strace -f` output file. */
function tracedCalls(trace: string): Set<string> {
  const used = new Set<string>();
  for (const line of readFileSync(trace, 'utf8').split('\n')) {
    const m = /^\d+\s+([a-z_][a-z0-9_]*)\(/.exec(line);
    if (m) used.add(m[1]!);
  }
  return used;
}

const BUILT = existsSync(JITD);

describe(`jitd.service SystemCallFilter=${SKIP}`, () => {
  it.skipIf(SKIP !== '')('allows every system call Node makes doing what jitd does (traced with strace)', () => {
    work = mkdtempSync(join(tmpdir(), 'jitd-syscalls-'));
    const script = join(work, 'workload.mjs');
    const trace = join(work, 'trace.txt');
    writeFileSync(script, WORKLOAD);
    const r = spawnSync('strace', ['-f', '-qq', '-o', trace, process.execPath, script, join(work, 'lib')], {
      encoding: 'utf8',
      timeout: 50_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('workload done');

    const used = tracedCalls(trace);
    expect(used.size).toBeGreaterThan(30);
    const { allowed } = allowedByUnit();
    const refused = [...used].filter((call) => !allowed.has(call)).sort();
    expect(refused).toEqual([]);
  });

  it.skipIf(SKIP !== '' || !BUILT)(
    `allows every system call of jitd itself — start, socketGroup, an answered request installed, SIGTERM${
      BUILT ? '' : ' (skipped: dist/bin/jitd.js is not built)'
    }`,
    async () => {
      // The layout and environment jitd.service gives it (see service-env.test.ts); the
      // service's Group= is played by the primary group of the user running the tests.
      const root = (daemonRoot = mkdtempSync(join(tmpdir(), 'jitd-sys-')));
      const group = spawnSync('id', ['-gn'], { encoding: 'utf8' }).stdout.trim();
      for (const d of ['etc', 'srv/config', 'srv/components/personas', 'state', 'run', 'creds']) {
        mkdirSync(join(root, d), { recursive: true });
      }
      chmodSync(join(root, 'run'), 0o750);
      writeFileSync(join(root, 'srv/components/personas/sre.txt'), 'You are an SRE.\n');
      const mapFile = join(root, 'srv/config/goal_map.json');
      writeFileSync(mapFile, JSON.stringify({ DIAGNOSE: { persona: 'sre.txt', protocol: 'drilldown.txt' } }));
      const configFile = join(root, 'etc/jitd.json');
      writeFileSync(configFile, JSON.stringify({ mapFile, componentsDir: join(root, 'srv/components'), socketGroup: group, provider: { kind: 'template' } }));
      const socketPath = join(root, 'run/jitd.sock');
      const trace = join(root, 'trace.txt');
      const child = spawn('strace', ['-f', '-qq', '-o', trace, process.execPath, JITD, '--config', configFile], {
        env: {
          ...process.env,
          STATE_DIRECTORY: join(root, 'state'),
          RUNTIME_DIRECTORY: join(root, 'run'),
          CREDENTIALS_DIRECTORY: join(root, 'creds'),
          // Nobody listens: systemd-notify runs (and is traced) but fails; jitd carries on.
          NOTIFY_SOCKET: join(root, 'notify.sock'),
          OPENAI_API_KEY: undefined,
          JITD_SOCKET: undefined,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
      child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
      const exited = new Promise<number | null>((r) => child.on('exit', r));
      let pid: number | undefined;
      for (let i = 0; i < 1500 && pid === undefined && child.exitCode === null; i++) {
        const line = out.split('\n').find((l) => l.includes('"jitd ready"'));
        if (line) pid = (JSON.parse(line) as { pid: number }).pid;
        else await new Promise((r) => setTimeout(r, 20));
      }
      expect(pid, `jitd did not get ready:\n${out}\n${err}`).toBeDefined();

      const ctl = (args: string[]) => jitctl(['--socket', socketPath, ...args]);
      const pending = await ctl(['--json', 'pending']);
      const [request] = JSON.parse(pending.stdout) as { id: string }[];
      expect((await ctl(['answer', request!.id, 'Drill down from symptom to cause'])).code).toBe(0);
      expect((await ctl(['status', '--sync'])).code).toBe(0);
      expect(readFileSync(mapFile, 'utf8')).toContain('autogen_protocol_for_diagnose.txt');

      process.kill(pid!, 'SIGTERM');
      expect(await exited).toBe(0);

      const { allowed } = allowedByUnit();
      const refused = [...tracedCalls(trace)].filter((call) => !allowed.has(call)).sort();
      expect(refused).toEqual([]);
    },
  );

  it.skipIf(!HAVE_ANALYZE)(
    `refuses chown(2) (part of ~@privileged): jitd must not chown its socket when the group already fits${HAVE_ANALYZE ? '' : ' (skipped: systemd-analyze is not installed)'}`,
    () => {
      const { allowed } = allowedByUnit();
      expect(allowed.has('chown') || allowed.has('fchown') || allowed.has('fchownat')).toBe(false);
      // ...while what Node needs at start-up stays in.
      for (const call of ['pkey_alloc', 'prlimit64', 'inotify_add_watch', 'fsync', 'renameat2', 'execve', 'clone3']) {
        expect(allowed.has(call), call).toBe(true);
      }
    },
  );
});
