/**
 * Shared helpers of the hardening tests (not a test file). A library built inside an *outer*
 * directory that also holds a sentinel tree: anything jitd writes outside its three places lands
 * in the outer directory (or, through a symlink, in the sentinel), where a before/after snapshot
 * sees it. Real daemons are started with the shared `startDaemon` (the built jitd, or the test entry
 * point jitd-under-test.mjs when a JITD_TEST_* fault variable is passed); `jitctl` is the built one.
 */
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { jitctl, startDaemon, type CliResult, type RunningDaemon } from '../support/daemon-process.js';
import { makeLibrary, type TempLibrary } from '../support/library-fixture.js';

/** A library inside an outer directory beside a sentinel tree (library-fixture.ts `sentinel`). */
export type HardLib = TempLibrary & { sentinel: string };

export interface HardLibOptions {
  map?: unknown;
  /** Raw map text (wins over `map`). */
  mapText?: string;
  components?: Record<string, string>;
  config?: Record<string, unknown>;
}

/** The hardening tests' library: one goal, `info` logs, the socket at `.jitd/ctl.sock` (a relative socketPath). */
export async function makeHardLib(opts: HardLibOptions = {}): Promise<HardLib> {
  const lib = await makeLibrary({
    sentinel: true,
    prefix: 'jh-',
    map: opts.map ?? { REVIEW: { protocol: 'review.txt' } },
    ...(opts.mapText === undefined ? {} : { mapText: opts.mapText }),
    ...(opts.components ? { components: opts.components } : {}),
    config: { log: { level: 'info' }, socketPath: '../.jitd/ctl.sock', ...opts.config },
  });
  return lib as HardLib;
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

/** One request on a fresh raw connection (test/support/raw-client.ts), for the in-place tests that import these helpers. */
export { rawCall } from '../support/raw-client.js';

/** The logs and stderr of a daemon, joined. */
export const output = (d: RunningDaemon) => `${d.logs.join('\n')}\n${d.stderr.join('')}`;

/** Stops a daemon if still running (SIGKILL: tests do not wait for a graceful stop). */
export async function kill(d: RunningDaemon | undefined): Promise<void> {
  if (!d) return;
  if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
  await d.exit;
}
