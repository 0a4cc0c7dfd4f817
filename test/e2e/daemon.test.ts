/**
 * The whole flow through the built bins: a real jitd on a temp library, driven with jitctl.
 */
import { chmod, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jitctl, startDaemon, type RunningDaemon } from '../support/daemon-process.js';
import type { makeLibrary } from '../support/library-fixture.js';
import { type TempLibrary } from '../support/library-fixture.js';
import { testLibrary, testDaemon } from '../support/per-test.js';

let lib: TempLibrary | undefined;
let daemon: RunningDaemon | undefined;

async function start(opts: Parameters<typeof makeLibrary>[0] = {}) {
  lib = await testLibrary(opts);
  daemon = await testDaemon(lib.configFile, lib.socketPath);
  return { lib, daemon };
}

const ctl = (args: string[], input?: string) => jitctl(['--socket', lib!.socketPath, ...args], input === undefined ? {} : { input });

async function pending(): Promise<Array<{ id: string; goal: string; type: string; filename: string; state: string }>> {
  await ctl(['status', '--sync']);
  const r = await ctl(['pending', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

async function readMap(): Promise<Record<string, Record<string, string>>> {
  return JSON.parse(await readFile(lib!.mapFile, 'utf8'));
}

describe('jitd end to end', () => {
  it('opens a request for a missing component, installs the answer and repoints the map', async () => {
    await start();
    const reqs = await pending();
    expect(reqs).toHaveLength(1);
    expect(reqs[0]).toMatchObject({ goal: 'DIAGNOSE_ROOT_CAUSE', type: 'protocol', filename: 'root_cause_analysis_drilldown.txt', state: 'waiting' });

    const answered = await ctl(['answer', reqs[0]!.id, 'Drill down from symptom to root cause with evidence']);
    expect(answered.code, answered.stderr).toBe(0);
    await ctl(['status', '--sync']);

    const generated = join(lib!.componentsDir, 'protocols', 'autogen_protocol_for_diagnose_root_cause.txt');
    const text = await readFile(generated, 'utf8');
    expect(text).toContain('Drill down from symptom to root cause with evidence');
    const map = await readMap();
    expect(map.DIAGNOSE_ROOT_CAUSE).toEqual({ protocol: 'autogen_protocol_for_diagnose_root_cause.txt', persona: 'sre.txt' });
    expect(map.REVIEW).toEqual({ protocol: 'review.txt' });
    expect(await pending()).toHaveLength(0);

    const composed = await ctl(['compose', 'DIAGNOSE_ROOT_CAUSE']);
    expect(composed.code).toBe(0);
    expect(composed.stdout).toContain('Drill down from symptom');
    expect(composed.stdout).toContain('You are an SRE.');
  });

  it("keeps the map file's permission bits when it repoints an entry", async () => {
    lib = await testLibrary();
    await chmod(lib.mapFile, 0o664); // a team's group-writable map, umask notwithstanding
    daemon = await testDaemon(lib.configFile, lib.socketPath);
    const [req] = await pending();
    expect((await ctl(['answer', req!.id, 'Anything'])).code).toBe(0);
    await ctl(['status', '--sync']);
    expect((await readMap()).DIAGNOSE_ROOT_CAUSE?.protocol).toBe('autogen_protocol_for_diagnose_root_cause.txt');
    expect((await stat(lib.mapFile)).mode & 0o777).toBe(0o664);
  });

  it('notices an editor-style save (temp file renamed over the map) that adds a goal', async () => {
    await start();
    const map = await readMap();
    map.NEW_GOAL = { persona: 'missing_persona.txt' };
    const tmp = `${lib!.mapFile}.swp`;
    await writeFile(tmp, JSON.stringify(map, null, 2));
    await rename(tmp, lib!.mapFile);
    const reqs = await pending();
    expect(reqs.map((r) => r.filename).sort()).toEqual(['missing_persona.txt', 'root_cause_analysis_drilldown.txt']);
  });

  it('raises a request when a referenced component is deleted, and resolves one when a person writes the file', async () => {
    await start();
    await unlink(join(lib!.componentsDir, 'protocols', 'review.txt'));
    expect((await pending()).map((r) => r.filename)).toContain('review.txt');

    await writeFile(join(lib!.componentsDir, 'protocols', 'root_cause_analysis_drilldown.txt'), 'Written by a person.\n');
    const left = await pending();
    expect(left.map((r) => r.filename)).toEqual(['review.txt']);
    // Resolved without generation: the map still names the person's file.
    expect((await readMap()).DIAGNOSE_ROOT_CAUSE?.protocol).toBe('root_cause_analysis_drilldown.txt');
  });

  it('keeps running on an unparsable map, reports it, and never rewrites it', async () => {
    await start();
    const broken = '{ "DIAGNOSE_ROOT_CAUSE": { "protocol": ';
    await writeFile(lib!.mapFile, broken);
    await ctl(['status', '--sync']);
    const status = await ctl(['status', '--json']);
    expect(status.code).toBe(0);
    expect(JSON.stringify(JSON.parse(status.stdout))).toMatch(/not valid JSON/);
    expect(await readFile(lib!.mapFile, 'utf8')).toBe(broken);
    // The last good map still serves: the waiting request is still there.
    expect((await ctl(['pending', '--json'])).code).toBe(0);

    await writeFile(lib!.mapFile, JSON.stringify({ ONLY: { protocol: 'review.txt' } }));
    expect(await pending()).toHaveLength(0); // waiting request withdrawn with its entry
  });

  it('exits 0 on SIGTERM', async () => {
    await start();
    const { code, signal } = await daemon!.stop('SIGTERM');
    expect({ code, signal }).toEqual({ code: 0, signal: null });
  });

  it('refuses a second jitd on the same library, naming the holder', async () => {
    await start();
    const second = await startDaemon(lib!.configFile, `${lib!.socketPath}.unused`);
    const { code } = await second.exit;
    expect(code).toBe(1);
    expect(second.stderr.join('')).toMatch(new RegExp(`already running.*pid ${daemon!.child.pid}|pid ${daemon!.child.pid}.*already running`));
    // The first one is unharmed.
    expect((await ctl(['status'])).code).toBe(0);
  });

  it('takes over the lock at once after the holder is killed with SIGKILL', async () => {
    await start();
    await daemon!.stop('SIGKILL');
    daemon = await testDaemon(lib!.configFile, lib!.socketPath);
    expect((await ctl(['status'])).code).toBe(0);
  });

  it('stops start-up on an invalid config with a message naming each bad key', async () => {
    lib = await testLibrary({ config: { provider: { kind: 'gpt' }, debounceMs: -1, colour: true } });
    const d = await startDaemon(lib.configFile, lib.socketPath);
    const { code } = await d.exit;
    expect(code).toBe(2);
    const err = d.stderr.join('');
    expect(err).toContain('provider.kind');
    expect(err).toContain('debounceMs');
    expect(err).toContain('colour: unknown key');
  });
});

describe('jitctl without a daemon', () => {
  it('exits 3 when nothing listens on the socket', async () => {
    const r = await jitctl(['--socket', '/tmp/jitd-no-such-dir/jitd.sock', 'status']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/jitctl:/);
  });
});
