/**
 * What the reconciler sweeps, hands on and reports (reconcile.ts), beyond reconcile.test.ts: the
 * temps of every state directory go, the orphan pass is skipped when the map stops parsing and
 * while git is busy even with nothing else held, the caller's hooks and `retryAllFailed` reach
 * the plan and its application, and a report carries only what happened. Found by mutation
 * testing (docs/mutation-testing.md).
 */
import { describe, expect, it } from 'vitest';
import { reconcile, type ReconcileOptions } from '../../src/reconcile/reconcile.js';
import { RequestStore } from '../../src/requests/request-store.js';
import { newRequest } from '../../src/requests/request.js';
import { faultFs, libraryClassifier } from '../support/fault-fs.js';
import { MemFs } from '../support/mem-fs.js';

const MAP = '/lib/config/goal_map.json';
const COMP = '/lib/components';
const STATE = '/lib/.jitd';
const classify = libraryClassifier({ mapFile: MAP, componentsDir: COMP, stateDir: STATE });
const ORPHAN = `${COMP}/personas/autogen_persona_for_gone.txt`;
const G = 'autogen_persona_for_a.txt';

function library(): MemFs {
  const fs = new MemFs();
  fs.writeFile(MAP, `${JSON.stringify({ A: { persona: 'a.txt' } }, null, 2)}\n`);
  fs.writeFile(ORPHAN, 'orphan\n');
  fs.mkdirpSync(`${STATE}/requests`);
  return fs;
}

async function run(mem: MemFs, opts: Partial<ReconcileOptions> = {}, fs = faultFs(mem, { classify })) {
  const store = new RequestStore(mem, STATE);
  await store.load();
  mem.checkpoint();
  return { ...(await reconcile({ fs, mapFile: MAP, componentsDir: COMP, stateDir: STATE, orphans: 'quarantine', store, ...opts })), store };
}

describe('reconcile: what it sweeps and reports', () => {
  it('removes the temps of every state directory: each candidates directory, both quarantines, staged (a file named like a directory there is no directory)', async () => {
    const mem = library();
    const temps = [
      `${STATE}/candidates/0123456789ab/.jitd-tmp.1.txt.000000000000`,
      `${STATE}/quarantine/temps/.jitd-tmp.x.000000000000`,
      `${STATE}/quarantine/components/.jitd-tmp.y.000000000000`,
      `${STATE}/staged/.jitd-tmp.z.000000000000`,
    ];
    for (const t of temps) mem.writeFile(t, 'half');
    mem.writeFile(`${STATE}/candidates/not-a-dir`, 'x');
    const { report } = await run(mem);
    expect([...report.tempsRemoved].sort()).toEqual([...temps].sort());
    expect(mem.exists(`${STATE}/candidates/not-a-dir`)).toBe(true);
  });

  it('with the map missing it reports only that and the temps swept: no plan, no lists filled', async () => {
    const mem = library();
    await mem.unlink(MAP);
    const { report } = await run(mem);
    expect(report).toEqual({
      at: expect.any(String),
      tempsRemoved: [],
      refusedDirs: [],
      toGenerate: [],
      retryLater: [],
      mapError: expect.stringMatching(/does not exist/),
    });
  });

  it('a report of a clean tree has no unreadable dirs, no missing tree, no seed temp and no hold', async () => {
    const { report } = await run(library(), { orphans: 'keep' });
    for (const key of ['unreadableDirs', 'componentsUnavailable', 'seedTempQuarantined', 'held']) expect(Object.keys(report)).not.toContain(key);
  });

  it('a components tree that is away is reported', async () => {
    const mem = new MemFs();
    mem.writeFile(MAP, '{}\n');
    mem.mkdirpSync(`${STATE}/requests`);
    const { report } = await run(mem);
    expect(report.componentsUnavailable).toEqual(expect.any(String));
  });

  it('the orphan pass is skipped when the map stops parsing before it (it cannot know what is referenced)', async () => {
    const mem = library();
    // read:map#1 is the reconcile's read; #2 is the orphan pass's re-read.
    const fs = faultFs(mem, { classify, hooks: { 'before:read:map#2': () => mem.writeFile(MAP, '{"A": ') } });
    const { report } = await run(mem, {}, fs);
    expect(report.orphans).toBeUndefined();
    expect(mem.read(ORPHAN)).toBe('orphan\n');
  });

  it('while git is busy no orphan is moved, even when the plan has no library write of its own to hold', async () => {
    const mem = library();
    const { report } = await run(mem, { hold: () => 'rebase in progress' });
    expect(report.held).toBe('rebase in progress');
    expect(report.orphans).toBeUndefined();
    expect(mem.read(ORPHAN)).toBe('orphan\n');
  });

  it("the caller's hooks reach the application: the map write, the record changes and jitd's own component writes", async () => {
    const mem = library();
    mem.writeFile(`${COMP}/personas/${G}`, 'made\n');
    // B names a generated file that is gone, with a quarantined copy: it is restored.
    const GB = 'autogen_persona_for_b.txt';
    const copy = `${STATE}/quarantine/components/20260101T000000Z-personas-${GB}`;
    mem.writeFile(MAP, `${JSON.stringify({ A: { persona: 'a.txt' }, B: { persona: GB } }, null, 2)}\n`);
    mem.writeFile(copy, 'kept\n');
    mem.writeFile(`${copy}.origin.json`, `${JSON.stringify({ from: `${COMP}/personas/${GB}` })}\n`);
    const heard: string[] = [];
    await run(mem, {
      onMapWrite: () => heard.push('map'),
      onChange: (r, what) => heard.push(`${what} ${r.goal}`),
      onComponentWrite: (dir, name, present) => heard.push(`${dir}/${name} ${present}`),
    });
    expect(heard).toEqual(['map', 'adopted A', `personas/${GB} true`, 'personas/autogen_persona_for_gone.txt false']);
  });

  it('retryAllFailed reaches the plan: a permanent failure is generated again at start-up only', async () => {
    const failed = { ...newRequest('A', 'persona', 'a.txt'), state: 'failed' as const, description: 'd' };
    for (const retryAllFailed of [false, true]) {
      const mem = library();
      const store = new RequestStore(mem, STATE);
      await store.load();
      await store.save(failed, { durable: true });
      // Left out, it is false.
      const { report } = await reconcile({
        fs: mem,
        mapFile: MAP,
        componentsDir: COMP,
        stateDir: STATE,
        orphans: 'keep',
        store,
        ...(retryAllFailed ? { retryAllFailed } : {}),
      });
      expect(report.toGenerate.map((r) => r.id)).toEqual(retryAllFailed ? [failed.id] : []);
    }
  });
});
