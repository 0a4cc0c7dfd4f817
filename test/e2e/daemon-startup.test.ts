/**
 * The built jitd's start-up, as a real process: signals that arrive before it is ready (a stop
 * is honoured cleanly, exit 0, at a safe point; a SIGHUP means one more reconcile), and the
 * production bin's deafness to the test-only JITD_TEST_* variables (invariant 6: it writes only
 * inside componentsDir, the map file and stateDir). A slow start-up is made with the test entry
 * point's JITD_TEST_SLOW_READDIR_MS.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JITD, JITD_UNDER_TEST, jitctl, type RunningDaemon } from '../support/daemon-process.js';
import { type TempLibrary } from '../support/library-fixture.js';
import { testLibrary, testDaemon, testSpawn } from '../support/per-test.js';

let lib: TempLibrary | undefined;
let daemon: RunningDaemon | undefined;

const SLOW = { JITD_TEST_SLOW_READDIR_MS: '250' };
const msgs = (d: RunningDaemon) => d.logs.map((l) => (JSON.parse(l) as { msg?: string }).msg);

async function logged(d: RunningDaemon, msg: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!msgs(d).includes(msg)) {
    if (d.child.exitCode !== null || d.child.signalCode !== null) throw new Error(`jitd exited before logging "${msg}": ${d.stderr.join('')}`);
    if (Date.now() > deadline) throw new Error(`jitd did not log "${msg}" within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Every `.jitd-tmp.*` under `dir` (a half-done durable write). */
async function temps(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.name.startsWith('.jitd-tmp.')) found.push(join(e.parentPath, e.name));
  }
  return found;
}

/** The request records on disk, each parsed (a torn one would throw). */
async function requestRecords(l: TempLibrary): Promise<Array<{ state: string }>> {
  const dir = join(l.stateDir, 'requests');
  const names = existsSync(dir) ? (await readdir(dir)).filter((n) => n.endsWith('.json')) : [];
  return Promise.all(names.map(async (n) => JSON.parse(await readFile(join(dir, n), 'utf8')) as { state: string }));
}

describe('signals during start-up', () => {
  it('SIGTERM before ready: stops at the next safe point with exit 0, never ready, nothing half-done, lock released', async () => {
    lib = await testLibrary();
    daemon = testSpawn(lib.configFile, SLOW);
    await logged(daemon, 'jitd starting');
    expect(msgs(daemon)).not.toContain('jitd ready');
    daemon.child.kill('SIGTERM');
    const { code, signal } = await daemon.exit;
    expect({ code, signal }, daemon.stderr.join('')).toEqual({ code: 0, signal: null });
    expect(msgs(daemon)).toContain('stopped before ready');
    expect(msgs(daemon)).not.toContain('jitd ready');
    expect(existsSync(lib.socketPath)).toBe(false);
    expect(await temps(lib.root)).toEqual([]);
    // The start-up reconcile ran to its end: the missing protocol has its complete request.
    expect((await requestRecords(lib)).map((r) => r.state)).toEqual(['waiting']);

    // The lock was released: the production jitd starts on the same library and serves.
    daemon = await testDaemon(lib.configFile, lib.socketPath);
    const st = await jitctl(['--socket', lib.socketPath, 'status']);
    expect(st.code, st.stderr).toBe(0);
    expect((await daemon.stop()).code).toBe(0);
  });

  it('SIGINT before ready stops cleanly too', async () => {
    lib = await testLibrary();
    daemon = testSpawn(lib.configFile, SLOW);
    await logged(daemon, 'jitd starting');
    daemon.child.kill('SIGINT');
    const { code, signal } = await daemon.exit;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(msgs(daemon)).toContain('stopped before ready');
    expect(await temps(lib.root)).toEqual([]);
  });

  it('SIGHUP before ready: jitd survives, becomes ready and reconciles once more', async () => {
    lib = await testLibrary();
    daemon = testSpawn(lib.configFile, SLOW);
    await logged(daemon, 'jitd starting');
    daemon.child.kill('SIGHUP');
    await logged(daemon, 'jitd ready', 30_000);
    const reasons = daemon.logs
      .map((l) => JSON.parse(l) as { msg?: string; reason?: string })
      .filter((l) => l.msg === 'reconciled' && l.reason !== undefined)
      .map((l) => l.reason);
    expect(reasons).toEqual(['startup', 'changed-during-start-up']);
    const { code, signal } = await daemon.stop();
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(msgs(daemon)).toContain('stopped');
  });

  it('the production bin: SIGTERM and SIGHUP right after "jitd starting" never kill it by signal', async () => {
    lib = await testLibrary();
    daemon = testSpawn(lib.configFile);
    await logged(daemon, 'jitd starting');
    daemon.child.kill('SIGHUP');
    daemon.child.kill('SIGTERM');
    const { code, signal } = await daemon.exit;
    // Either stopped before ready or after it, but by the stop sequence.
    expect({ code, signal }, daemon.stderr.join('')).toEqual({ code: 0, signal: null });
    expect(msgs(daemon).some((m) => m === 'stopped' || m === 'stopped before ready')).toBe(true);
    expect(await temps(lib.root)).toEqual([]);
  });
});

describe('test-only fault injection', () => {
  it('the production bin ignores JITD_TEST_TRACE, JITD_TEST_CRASH_AT and JITD_TEST_FAULT', async () => {
    lib = await testLibrary();
    const trace = join(lib.root, 'outside.trace');
    daemon = await testDaemon(
      lib.configFile,
      lib.socketPath,
      // Each would show if honoured: a trace file, a SIGKILL at the request's fsync, a failed write.
      { JITD_TEST_TRACE: trace, JITD_TEST_CRASH_AT: 'before:fsync:request#1', JITD_TEST_FAULT: 'write:request=EIO' },
      { bin: JITD },
    );
    expect(msgs(daemon), daemon.stderr.join('')).toContain('jitd ready');
    expect((await requestRecords(lib)).map((r) => r.state)).toEqual(['waiting']);
    const { code, signal } = await daemon.stop();
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(existsSync(trace)).toBe(false);
  });

  it('the test entry point honours JITD_TEST_TRACE (the variables do reach fault-fs there)', async () => {
    lib = await testLibrary();
    const trace = join(lib.root, 'steps.trace');
    daemon = await testDaemon(lib.configFile, lib.socketPath, { JITD_TEST_TRACE: trace });
    expect(daemon.child.spawnargs).toContain(JITD_UNDER_TEST);
    expect(msgs(daemon)).toContain('jitd ready');
    expect(await readFile(trace, 'utf8')).toMatch(/^fsync:request#1$/m);
    expect((await daemon.stop()).code).toBe(0);
  });
});
