/**
 * Hooks in the real daemon (the built jitd, wired in run-daemon.ts): one `requestAdded` per new
 * request, not one per rescan or restart; `installed` after an answer; a hook that hangs never
 * holds up the daemon, and `jitctl status` counts it.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requestId } from '../../src/requests/request.js';
import { jitctl, type RunningDaemon } from '../support/daemon-process.js';
import { DEFAULT_MAP, type TempLibrary } from '../support/library-fixture.js';
import { testLibrary, testDaemon } from '../support/per-test.js';

const MISSING_ID = requestId('DIAGNOSE_ROOT_CAUSE', 'protocol', 'root_cause_analysis_drilldown.txt');
let lib: TempLibrary | undefined;
let daemon: RunningDaemon | undefined;

const ctl = (args: string[]) => jitctl(['--socket', lib!.socketPath, ...args]);

/** Polls until `cond` holds (a bound on waiting, not a timing assertion). */
async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function hookStats() {
  const r = await ctl(['--json', 'status', '--sync']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout).hooks;
}

/** A recorder hook: each run writes `<outDir>/<event>-<request>-<n>.json` with its stdin and JITD_EVENT. */
async function writeRecorder(root: string): Promise<{ script: string; outDir: string }> {
  const script = join(root, 'record.mjs');
  const outDir = join(root, 'hook-out');
  await writeFile(
    script,
    `import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
let input = '';
process.stdin.setEncoding('utf8').on('data', (s) => (input += s)).on('end', () => {
  const dir = process.argv[2];
  mkdirSync(dir, { recursive: true });
  const base = process.env.JITD_EVENT + '-' + process.env.JITD_REQUEST_ID;
  const n = readdirSync(dir).filter((f) => f.startsWith(base)).length;
  writeFileSync(dir + '/' + base + '-' + n + '.json', JSON.stringify({ input: JSON.parse(input), event: process.env.JITD_EVENT, goal: process.env.JITD_GOAL }));
});
`,
  );
  return { script, outDir };
}

const runs = async (outDir: string, prefix: string) => (await readdir(outDir).catch(() => [] as string[])).filter((f) => f.startsWith(prefix)).sort();

describe('hooks in the running daemon', () => {
  it('runs requestAdded once per new request (not again on rescans or a restart) and installed after the answer', async () => {
    lib = await testLibrary({ map: DEFAULT_MAP });
    const { script, outDir } = await writeRecorder(lib.root);
    const argv = [process.execPath, script, outDir];
    await writeFile(
      lib.configFile,
      JSON.stringify({ debounceMs: 50, log: { level: 'info' }, hooks: { requestAdded: argv, installed: argv, requestFailed: argv } }),
    );
    daemon = await testDaemon(lib.configFile, lib.socketPath);
    const first = await until('the requestAdded hook', async () => (await runs(outDir, 'requestAdded-')).at(0));
    expect(first).toBe(`requestAdded-${MISSING_ID}-0.json`);
    const rec = JSON.parse(await readFile(join(outDir, first), 'utf8'));
    expect(rec).toMatchObject({
      event: 'requestAdded',
      goal: 'DIAGNOSE_ROOT_CAUSE',
      input: { event: 'requestAdded', request: { id: MISSING_ID, state: 'waiting', filename: 'root_cause_analysis_drilldown.txt' } },
    });

    for (let i = 0; i < 3; i++) expect((await ctl(['reconcile'])).code).toBe(0);
    await until('hooks to be idle', async () => ((await hookStats()).running + (await hookStats()).queued === 0 ? true : undefined));
    expect(await runs(outDir, 'requestAdded-')).toEqual([`requestAdded-${MISSING_ID}-0.json`]);
    expect(await hookStats()).toMatchObject({ configured: ['requestAdded', 'requestFailed', 'installed'], ok: 1, failed: 0 });

    // A restart finds the request already on disk: nobody is notified again.
    await daemon.stop('SIGTERM');
    daemon = await testDaemon(lib.configFile, lib.socketPath);
    expect((await ctl(['reconcile'])).code).toBe(0);
    expect((await ctl(['answer', MISSING_ID, 'drill down to the root cause'])).code).toBe(0);
    const installed = await until('the installed hook', async () => (await runs(outDir, 'installed-')).at(0));
    const inst = JSON.parse(await readFile(join(outDir, installed), 'utf8'));
    expect(inst.input).toMatchObject({ event: 'installed', request: { id: MISSING_ID, state: 'done' } });
    expect(inst.input.path).toContain('autogen_protocol_for_diagnose_root_cause.txt');
    expect(await runs(outDir, 'requestAdded-')).toEqual([`requestAdded-${MISSING_ID}-0.json`]);
  });

  it('a hook that hangs is killed at hooks.timeoutMs while the daemon keeps answering; status counts it', async () => {
    lib = await testLibrary({ map: DEFAULT_MAP });
    const hang = [process.execPath, '-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"];
    await writeFile(
      lib.configFile,
      JSON.stringify({ debounceMs: 50, log: { level: 'info' }, hooks: { requestAdded: hang, installed: ['/nonexistent/jitd-hook'], timeoutMs: 1500 } }),
    );
    daemon = await testDaemon(lib.configFile, lib.socketPath);
    // While the hook hangs, the daemon serves and installs.
    const during = await hookStats();
    expect(during.configured).toEqual(['requestAdded', 'installed']);
    expect((await ctl(['answer', MISSING_ID, 'drill down'])).code).toBe(0);
    expect((await ctl(['pending'])).code).toBe(0);
    const st = await until('the hang to be killed and the missing command counted', async () => {
      const s = await hookStats();
      return s.timedOut === 1 && s.notStarted === 1 ? s : undefined;
    });
    expect(st).toMatchObject({ failed: 2, ok: 0, running: 0 });
    const human = await ctl(['status']);
    expect(human.stdout).toMatch(/hooks\s+requestAdded, installed {2}· {2}ok 0 · failed 2 \(timed out 1, not started 1\)/);
    expect(daemon.logs.some((l) => l.includes('hook requestAdded failed: killed after the 1500 ms timeout'))).toBe(true);
  });
});
