/**
 * Event hooks through real child processes (contract §9): a hook that records its input, one that
 * hangs past the timeout (also through a shell whose child would outlive it), one that exits 1,
 * one that writes megabytes, one that floods without end, and a command that does not exist.
 * Each ends bounded, is counted, and never throws into the caller.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hookInputFor, HookRunner, MAX_QUEUED } from '../../src/hooks/hook-runner.js';
import { KEPT_OUTPUT_BYTES, MAX_OUTPUT_BYTES, runHook } from '../../src/hooks/run-hook.js';
import type { EngineEvent } from '../../src/jobs/events.js';
import { resolveConfig, type HooksConfig } from '../../src/library/config.js';
import { newRequest, publicView } from '../../src/requests/request.js';

const NODE = process.execPath;
let dir: string;
let recorder: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jitd-hooks-'));
  recorder = join(dir, 'record.mjs');
  // Records what a hook gets: its stdin, the JITD_* variables, whether the API key leaked, its cwd.
  await writeFile(
    recorder,
    `import { writeFileSync } from 'node:fs';
let input = '';
process.stdin.setEncoding('utf8').on('data', (s) => (input += s)).on('end', () => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('JITD_')));
  writeFileSync(process.argv[2], JSON.stringify({ input, env, apiKey: process.env.OPENAI_API_KEY ?? null, notify: process.env.NOTIFY_SOCKET ?? null, cwd: process.cwd() }));
});
`,
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const silent = pino({ level: 'silent' });
const request = (goal = 'DIAGNOSE_ROOT_CAUSE', filename = 'root_cause_analysis_drilldown.txt') => publicView(newRequest(goal, 'protocol', filename));
const added = (r = request()): EngineEvent => ({ type: 'request.added', request: r });
const hooks = (extra: Partial<HooksConfig>): HooksConfig => ({ ...resolveConfig({}, '/x/jitd.json', {}).hooks, ...extra });
/** Whether `pid` still runs: a zombie (dead, not yet reaped by an init that does not reap) counts as gone. */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

/** Waits (up to 10 s) for `pid` to be gone: a signal is delivered at once, but a loaded machine may take a while to run the dying process. */
async function gone(pid: number): Promise<boolean> {
  for (const end = Date.now() + 10_000; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) if (!alive(pid)) return true;
  return false;
}

describe('HookRunner with real commands', () => {
  it('gives the hook the event as one JSON object on stdin and JITD_* in its environment, without the daemon secrets', async () => {
    const out = join(dir, 'recorded.json');
    const runner = new HookRunner({
      hooks: hooks({ requestAdded: [NODE, recorder, out] }),
      cwd: dir,
      log: silent,
      env: { ...process.env, OPENAI_API_KEY: 'sk-secret-value', NOTIFY_SOCKET: '/run/systemd/notify' },
    });
    const r = request('GOAL\0WITH NUL', 'x.txt');
    runner.onEvent(added(r));
    await runner.idle();
    const got = JSON.parse(await readFile(out, 'utf8'));
    const input = JSON.parse(got.input);
    expect(got.input.endsWith('}\n')).toBe(true);
    expect(input).toMatchObject({
      event: 'requestAdded',
      request: { id: r.id, goal: 'GOAL\0WITH NUL', type: 'protocol', filename: 'x.txt', state: 'waiting' },
    });
    expect(Date.parse(input.at)).not.toBeNaN();
    expect(got.env).toEqual({
      JITD_EVENT: 'requestAdded',
      JITD_REQUEST_ID: r.id,
      JITD_GOAL: 'GOAL\ufffdWITH NUL',
      JITD_TYPE: 'protocol',
      JITD_FILENAME: 'x.txt',
    });
    expect(got.apiKey).toBeNull();
    expect(got.notify).toBeNull();
    expect(got.cwd).toBe(dir);
    expect(runner.stats()).toMatchObject({ configured: ['requestAdded'], ok: 1, failed: 0, running: 0, queued: 0 });
  });

  it('kills a hook that hangs past hooks.timeoutMs, with SIGKILL when it ignores SIGTERM, and counts it', async () => {
    const pidFile = join(dir, 'hang.pid');
    const hang = `require('node:fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); process.on('SIGTERM', () => {}); setInterval(() => {}, 1000);`;
    const runner = new HookRunner({ hooks: hooks({ requestAdded: [NODE, '-e', hang], timeoutMs: 300 }), cwd: dir, log: silent });
    runner.onEvent(added());
    await runner.idle();
    const pid = Number(await readFile(pidFile, 'utf8'));
    expect(await gone(pid)).toBe(true);
    const st = runner.stats();
    expect(st).toMatchObject({ ok: 0, failed: 1, timedOut: 1 });
    expect(st.lastFailure).toMatchObject({ event: 'requestAdded', message: 'killed after the 300 ms timeout' });
  });

  it("kills the hook's whole process group on timeout: a shell script's child dies with it", async () => {
    const pidFile = join(dir, 'grandchild.pid');
    // The timeout leaves a loaded machine time to start the shell and write the pid first.
    const o = await runHook({ argv: ['sh', '-c', `sleep 300 & echo $! > ${pidFile}; wait`], input: {}, vars: {}, timeoutMs: 2000, cwd: dir });
    expect(o.timedOut).toBe(true);
    expect(o.ok).toBe(false);
    const grandchild = Number(await readFile(pidFile, 'utf8'));
    expect(grandchild).toBeGreaterThan(0);
    expect(await gone(grandchild)).toBe(true);
  });

  it('logs and counts a hook that exits 1, with the first line of its stderr (control characters made visible)', async () => {
    const runner = new HookRunner({
      hooks: hooks({ installed: ['sh', '-c', "printf 'webhook refused: 503\\033[2J\\nsecond line\\n' >&2; exit 1"] }),
      cwd: dir,
      log: silent,
    });
    runner.onEvent({ type: 'request.installed', request: { ...request(), state: 'done' }, path: '/lib/components/protocols/x.txt' });
    await runner.idle();
    expect(runner.stats()).toMatchObject({ ok: 0, failed: 1, timedOut: 0, notStarted: 0 });
    expect(runner.stats().lastFailure).toMatchObject({ event: 'installed', message: 'exit 1: webhook refused: 503\\u001b[2J' });
  });

  it('drains a hook that writes megabytes (8 MiB out, 2 MiB err) to the end, keeping only the first KiB for the log', async () => {
    const o = await runHook({
      argv: [NODE, '-e', 'process.stdout.write(Buffer.alloc(8 << 20, 120)); process.stderr.write(Buffer.alloc(2 << 20, 121))'],
      input: {},
      vars: {},
      timeoutMs: 60_000,
      cwd: dir,
    });
    expect(o).toMatchObject({ ok: true, code: 0, stdoutBytes: 8 << 20, stderrBytes: 2 << 20, flooded: false });
    expect(o.stdoutHead).toBe('x'.repeat(KEPT_OUTPUT_BYTES));
    expect(o.stderrHead).toBe('y'.repeat(KEPT_OUTPUT_BYTES));
  });

  it('kills a hook that floods its output without end, once it passes the output bound', async () => {
    const o = await runHook({
      argv: [
        NODE,
        '-e',
        "const b = Buffer.alloc(1 << 16, 120); const w = () => process.stdout.write(b, w); w(); process.on('SIGTERM', () => process.exit(143))",
      ],
      input: {},
      vars: {},
      timeoutMs: 120_000,
      cwd: dir,
    });
    expect(o.flooded).toBe(true);
    expect(o.timedOut).toBe(false);
    expect(o.ok).toBe(false);
    expect(o.stdoutBytes).toBeGreaterThan(MAX_OUTPUT_BYTES);
  });

  it('counts a command that does not exist (ENOENT) as not started, and goes on', async () => {
    const runner = new HookRunner({
      hooks: hooks({ requestAdded: ['/nonexistent/jitd-hook'], requestFailed: ['jitd-no-such-hook-on-path'] }),
      cwd: dir,
      log: silent,
    });
    runner.onEvent(added());
    runner.onEvent({ type: 'request.failed', request: { ...request(), state: 'failed' }, error: 'model down' });
    await runner.idle();
    const st = runner.stats();
    expect(st).toMatchObject({ failed: 2, notStarted: 2 });
    expect(st.lastFailure?.message).toContain('ENOENT');
  });

  it(`bounds the queue: beyond ${MAX_QUEUED} waiting runs, events are dropped and counted; close() drops the queue`, async () => {
    const runner = new HookRunner({
      hooks: hooks({ requestAdded: [NODE, '-e', 'setTimeout(() => {}, 60000)'], concurrency: 1, timeoutMs: 300 }),
      cwd: dir,
      log: silent,
    });
    for (let i = 0; i < MAX_QUEUED + 50; i++) runner.onEvent(added(request(`G${i}`, 'x.txt')));
    const st = runner.stats();
    expect(st.running + st.queued).toBe(MAX_QUEUED + 1);
    expect(st.dropped).toBe(50 - 1);
    // Closing drops what waits and waits for the one running (bounded by its timeout).
    await runner.close();
    expect(runner.stats()).toMatchObject({ queued: 0, running: 0, timedOut: 1 });
    runner.onEvent(added());
    expect(runner.stats().queued).toBe(0);
  });
});

describe('which engine events notify', () => {
  it('requestAdded for a created or reopened request that waits for a person; nothing for a reopened one filled from its kept answer', () => {
    expect(hookInputFor(added())?.event).toBe('requestAdded');
    expect(hookInputFor({ type: 'request.reopened', request: request() })?.event).toBe('requestAdded');
    expect(hookInputFor({ type: 'request.reopened', request: { ...request(), state: 'answered' } })).toBeUndefined();
    for (const type of ['request.answered', 'request.generating', 'request.withdrawn', 'request.rejected'] as const)
      expect(hookInputFor({ type, request: request() })).toBeUndefined();
    expect(hookInputFor({ type: 'reconciled', summary: {} })).toBeUndefined();
  });

  it('draftReady for a candidate that waits for review, with its number', () => {
    expect(hookInputFor({ type: 'request.draft', request: { ...request(), state: 'draft' }, candidate: 2 })).toMatchObject({
      event: 'draftReady',
      candidate: 2,
    });
  });

  it('accepts hooks.draftReady in the config and rejects a shell string or an empty argv', () => {
    expect(resolveConfig({ hooks: { draftReady: ['notify-send', 'draft'] } }, '/x/jitd.json', {}).hooks.draftReady).toEqual(['notify-send', 'draft']);
    expect(() => resolveConfig({ hooks: { requestAdded: 'notify-send jitd' } }, '/x/jitd.json', {})).toThrow(/hooks\.requestAdded/);
    expect(() => resolveConfig({ hooks: { installed: [] } }, '/x/jitd.json', {})).toThrow(/hooks\.installed/);
    expect(() => resolveConfig({ hooks: { requestAdded: ['x'], onBoot: ['y'] } }, '/x/jitd.json', {})).toThrow(/hooks\.onBoot: unknown key/);
    expect(() => resolveConfig({ hooks: { timeoutMs: 0 } }, '/x/jitd.json', {})).toThrow(/hooks\.timeoutMs/);
  });
});
