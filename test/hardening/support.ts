/**
 * Shared helpers of the hardening tests (not a test file). A library built inside an *outer*
 * directory that also holds a sentinel tree: anything jitd writes outside its three places lands
 * in the outer directory (or, through a symlink, in the sentinel), where a before/after snapshot
 * sees it. Real daemons are started with the shared `startDaemon` (the built jitd, or the test entry
 * point jitd-under-test.mjs when a JITD_TEST_* fault variable is passed); `jitctl` is the built one.
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { jitctl, startDaemon, type CliResult, type RunningDaemon } from '../support/daemon-process.js';

export interface HardLib {
  /** The directory holding the library and the sentinel tree. */
  outer: string;
  /** The library root: config/, components/, .jitd/ */
  root: string;
  configFile: string;
  mapFile: string;
  componentsDir: string;
  stateDir: string;
  socketPath: string;
  /** A directory outside the library that symlinks may point at; jitd must never write in it. */
  sentinel: string;
  cleanup(): Promise<void>;
}

export interface HardLibOptions {
  map?: unknown;
  /** Raw map text (wins over `map`). */
  mapText?: string;
  components?: Record<string, string>;
  config?: Record<string, unknown>;
}

export const BASE_COMPONENTS: Record<string, string> = {
  'personas/sre.txt': 'You are an SRE.\n',
  'protocols/review.txt': 'Review it.\n',
};

export async function makeHardLib(opts: HardLibOptions = {}): Promise<HardLib> {
  // Short: Unix socket paths are limited to 107 bytes.
  const outer = await mkdtemp(join(tmpdir(), 'jh-'));
  const root = join(outer, 'lib');
  const sentinel = join(outer, 'outside');
  await mkdir(join(sentinel, 'protocols'), { recursive: true });
  await writeFile(join(sentinel, 'secret.txt'), 'do not touch\n');
  await writeFile(join(sentinel, 'protocols', 'leak.txt'), 'outside the library\n');
  const configDir = join(root, 'config');
  const componentsDir = join(root, 'components');
  await mkdir(configDir, { recursive: true });
  await mkdir(join(componentsDir, 'protocols'), { recursive: true });
  await mkdir(join(componentsDir, 'personas'), { recursive: true });
  for (const [rel, text] of Object.entries(opts.components ?? BASE_COMPONENTS)) {
    await mkdir(join(componentsDir, rel, '..'), { recursive: true });
    await writeFile(join(componentsDir, rel), text);
  }
  const mapFile = join(configDir, 'goal_map.json');
  const map = opts.map ?? { REVIEW: { protocol: 'review.txt' } };
  await writeFile(mapFile, opts.mapText ?? `${JSON.stringify(map, null, 2)}\n`);
  const configFile = join(configDir, 'jitd.json');
  const config = { debounceMs: 50, log: { level: 'info' }, socketPath: '../.jitd/ctl.sock', ...opts.config };
  await writeFile(configFile, JSON.stringify(config, null, 2));
  return {
    outer,
    root,
    configFile,
    mapFile,
    componentsDir,
    stateDir: join(root, '.jitd'),
    socketPath: join(root, '.jitd', 'ctl.sock'),
    sentinel,
    cleanup: () => rm(outer, { recursive: true, force: true }),
  };
}

/** Every path under `dir` (lstat, symlinks not followed) with a fingerprint of what it is. */
export async function snapshotTree(dir: string, skip: (rel: string) => boolean = () => false): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(d);
    } catch {
      return;
    }
    for (const name of names) {
      const p = join(d, name);
      const rel = relative(dir, p);
      if (skip(rel)) continue;
      let st;
      try {
        st = await lstat(p);
      } catch {
        continue;
      }
      if (st.isSymbolicLink()) out.set(rel, `link:${await readlink(p)}`);
      else if (st.isDirectory()) {
        out.set(rel, 'dir');
        await walk(p);
      } else if (st.isFile())
        out.set(
          rel,
          `file:${createHash('sha256')
            .update(await readFile(p))
            .digest('hex')
            .slice(0, 16)}`,
        );
      else out.set(rel, 'other');
    }
  };
  await walk(dir);
  return out;
}

/** The outer tree without the library: what must not change while jitd runs. */
export const outsideSnapshot = (lib: HardLib) => snapshotTree(lib.outer, (rel) => rel === 'lib' || rel.startsWith(`lib/`));

/** Every file path under `dir`, relative, symlinks not followed. */
export async function listFiles(dir: string): Promise<string[]> {
  return [...(await snapshotTree(dir)).entries()].filter(([, v]) => v !== 'dir').map(([k]) => k);
}

/** jitctl against this library's socket. */
export const ctl = (lib: HardLib, args: string[], input?: string): Promise<CliResult> =>
  jitctl(['--socket', lib.socketPath, ...args], input === undefined ? {} : { input });

export async function statusJson(lib: HardLib, sync = false): Promise<any> {
  const r = await ctl(lib, ['status', '--json', ...(sync ? ['--sync'] : [])]);
  if (r.code !== 0) throw new Error(`status exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

export interface PendingView {
  id: string;
  goal: string;
  type: string;
  filename: string;
  generatedName: string;
  state: string;
  description?: string;
  lastError?: string;
}

export async function pendingJson(lib: HardLib, states?: string[]): Promise<PendingView[]> {
  const r = await ctl(lib, ['pending', '--json', ...(states ? ['--state', states.join(',')] : [])]);
  if (r.code !== 0) throw new Error(`pending exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Starts the built jitd on `lib` (through jitd-under-test.mjs when `env` sets a JITD_TEST_* variable). */
export const start = (lib: HardLib, env: NodeJS.ProcessEnv = {}): Promise<RunningDaemon> => startDaemon(lib.configFile, lib.socketPath, env);

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `fn` until it answers truthy, or throws after `timeoutMs` naming `what`. */
export async function waitFor<T>(what: string, fn: () => Promise<T> | T, timeoutMs = 20_000, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(everyMs);
  }
}

/** VmRSS of a process in KiB, from /proc. */
export async function rssKiB(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(text);
  return m ? Number(m[1]) : NaN;
}

/** True if the process is alive (signal 0). */
export function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** jitd temp files anywhere under `dir`. */
export async function tempsUnder(dir: string): Promise<string[]> {
  return (await listFiles(dir)).filter((p) => p.split('/').some((seg) => seg.startsWith('.jitd-tmp.') && !seg.startsWith('.jitd-tmp.cookie-')));
}

/**
 * A raw line client on a Unix socket: send bytes, collect every response line. Lines that are
 * events (`{"id","event"}` of a subscription) are kept apart from responses.
 */
export class LineClient {
  readonly responses: any[] = [];
  readonly events: any[] = [];
  readonly unparsable: string[] = [];
  closed = false;
  private buf = '';
  private waiters: Array<() => void> = [];
  readonly done: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buf += chunk;
      for (let nl = this.buf.indexOf('\n'); nl >= 0; nl = this.buf.indexOf('\n')) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        let msg: any;
        try {
          msg = JSON.parse(line);
        } catch {
          this.unparsable.push(line.slice(0, 200));
          continue;
        }
        if (msg && typeof msg === 'object' && 'event' in msg) this.events.push(msg);
        else this.responses.push(msg);
      }
      this.wake();
    });
    socket.on('error', () => undefined);
    this.done = new Promise((res) =>
      socket.on('close', () => {
        this.closed = true;
        this.wake();
        res();
      }),
    );
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  static connect(path: string, timeoutMs = 10_000): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const s = connect(path);
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`connect timeout on ${path}`));
      }, timeoutMs);
      s.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(new LineClient(s));
      });
    });
  }

  send(data: string | Buffer): boolean {
    return this.socket.write(data);
  }

  /** Resolves once `n` responses have arrived (rejects on timeout or close before). */
  async waitResponses(n: number, timeoutMs = 10_000): Promise<any[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.responses.length < n) {
      if (this.closed) throw new Error(`connection closed after ${this.responses.length}/${n} responses`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`only ${this.responses.length}/${n} responses within ${timeoutMs} ms`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
    return this.responses.slice(0, n);
  }

  /** Sends one request and answers its response (matched by id). */
  async call(method: string, params?: unknown, timeoutMs = 10_000): Promise<any> {
    const id = `c${++LineClient.ids}`;
    this.send(`${JSON.stringify({ id, method, ...(params === undefined ? {} : { params }) })}\n`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.responses.find((r) => r?.id === id);
      if (hit) return hit;
      if (this.closed) throw new Error('connection closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no response to ${method} within ${timeoutMs} ms`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }
  private static ids = 0;

  close(): void {
    this.socket.destroy();
  }
}

/** One-shot request on a fresh connection. */
export async function rawCall(path: string, method: string, params?: unknown, timeoutMs = 10_000): Promise<any> {
  const c = await LineClient.connect(path, timeoutMs);
  try {
    return await c.call(method, params, timeoutMs);
  } finally {
    c.close();
  }
}

/** The logs and stderr of a daemon, joined. */
export const output = (d: RunningDaemon) => `${d.logs.join('\n')}\n${d.stderr.join('')}`;

/** Stops a daemon if still running (SIGKILL: tests do not wait for a graceful stop). */
export async function kill(d: RunningDaemon | undefined): Promise<void> {
  if (!d) return;
  if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
  await d.exit;
}
