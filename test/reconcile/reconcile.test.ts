/**
 * The reconciler (invariant 2) on the in-memory file system: temps swept, interrupted installs
 * rolled forward, orphans quarantined with a record, a person's files only reported, and an
 * unparsable map makes it write nothing at all.
 */
import { describe, expect, it, vi } from 'vitest';
import { faultFs, libraryClassifier } from '../support/fault-fs.js';
import { liveTemps } from '../../src/fsio/temp-files.js';
import { reconcile, type ReconcileOptions } from '../../src/reconcile/reconcile.js';
import { RequestStore } from '../../src/requests/request-store.js';
import { newRequest, requestId, type Request } from '../../src/requests/request.js';
import { StagedOutputs } from '../../src/requests/staged-output.js';
import { MemFs } from '../support/mem-fs.js';

const MAP = '/lib/config/goal_map.json';
const COMP = '/lib/components';
const STATE = '/lib/.jitd';
const G = 'autogen_persona_for_diagnose_root_cause.txt';

function library(map: unknown = { DIAGNOSE_ROOT_CAUSE: { protocol: 'rca.txt', persona: 'sre.txt' } }): MemFs {
  const fs = new MemFs();
  fs.writeFile(MAP, typeof map === 'string' ? map : `${JSON.stringify(map, null, 2)}\n`);
  fs.writeFile(`${COMP}/protocols/rca.txt`, 'Drill down.\n');
  fs.mkdirpSync(`${COMP}/personas`);
  fs.mkdirpSync(`${STATE}/requests`);
  return fs;
}

async function run(fs: MemFs, opts: Partial<ReconcileOptions> = {}) {
  const store = new RequestStore(fs, STATE);
  await store.load();
  fs.checkpoint();
  const result = await reconcile({ fs, mapFile: MAP, componentsDir: COMP, stateDir: STATE, orphans: 'quarantine', store, ...opts });
  return { ...result, store };
}

const mapOf = (fs: MemFs) => JSON.parse(fs.read(MAP) as string);

describe('reconcile', () => {
  it('removes every jitd temp file, durably', async () => {
    const fs = library();
    const temps = [
      '/lib/config/.jitd-tmp.goal_map.json.a1b2c3d4e5f6',
      `${STATE}/requests/.jitd-tmp.abc.json.a1b2c3d4e5f6`,
      `${COMP}/personas/.jitd-tmp.autogen_persona_for_x.txt.a1b2c3d4e5f6`,
      `${STATE}/quarantine/components/.jitd-tmp.x.origin.json.a1b2c3d4e5f6`,
    ];
    for (const t of temps) fs.writeFile(t, 'partial');
    const { report } = await run(fs);
    expect(report.tempsRemoved.sort()).toEqual([...temps].sort());
    for (const t of temps) expect(fs.exists(t)).toBe(false);
    const synced = new Set(fs.log.filter((o) => o.t === 'syncdir').map((o) => o.path));
    for (const d of ['/lib/config', `${STATE}/requests`, `${COMP}/personas`, `${STATE}/quarantine/components`]) expect(synced.has(d)).toBe(true);
  });

  it("leaves a person's files that merely look temporary alone", async () => {
    const fs = library();
    fs.writeFile(`${COMP}/personas/notes.tmp`, 'mine');
    fs.writeFile('/lib/config/other.json.tmp', 'mine');
    await run(fs);
    expect(fs.read(`${COMP}/personas/notes.tmp`)).toBe('mine');
    expect(fs.read('/lib/config/other.json.tmp')).toBe('mine');
  });

  it('spares the temp of a put still in flight in this process (a run-time reconcile)', async () => {
    const fs = library();
    const live = '/lib/config/.jitd-tmp.goal_map.json.ffffffffffff';
    fs.writeFile(live, 'in flight');
    liveTemps.add(live);
    try {
      await run(fs);
      expect(fs.exists(live)).toBe(true);
    } finally {
      liveTemps.delete(live);
    }
  });

  it('rolls an interrupted install forward: the published component is adopted by the map, the request closed, nothing generated', async () => {
    const fs = library();
    fs.writeFile(`${COMP}/personas/${G}`, 'generated\n');
    const r = { ...newRequest('DIAGNOSE_ROOT_CAUSE', 'persona', 'sre.txt'), state: 'answered' as const, description: 'an SRE' };
    fs.writeFile(`${STATE}/requests/${r.id}.json`, JSON.stringify(r));
    const { report, store } = await run(fs);
    expect(mapOf(fs).DIAGNOSE_ROOT_CAUSE).toEqual({ protocol: 'rca.txt', persona: G });
    expect(report.applied?.rolledForward).toEqual([`DIAGNOSE_ROOT_CAUSE.persona: sre.txt -> ${G}`]);
    expect(report.toGenerate).toEqual([]);
    expect(store.get(r.id)).toMatchObject({ state: 'done', description: 'an SRE' });
    expect(report.orphans?.quarantined).toEqual([]);
  });

  it("re-applies jitd's change when a person's save dropped it while the generated file exists, asking nobody", async () => {
    const fs = library();
    fs.writeFile(`${COMP}/personas/${G}`, 'generated\n');
    const { report } = await run(fs);
    expect(mapOf(fs).DIAGNOSE_ROOT_CAUSE.persona).toBe(G);
    expect(report.applied?.created).toBe(0);
  });

  it("keeps the map's other entries and indentation when it rolls forward", async () => {
    const text = `${JSON.stringify({ B: { format: 'f.txt' }, DIAGNOSE_ROOT_CAUSE: { protocol: 'rca.txt', persona: 'sre.txt' }, A: { x: 'y.txt' } }, null, '\t')}\n`;
    const fs = library(text);
    fs.writeFile(`${COMP}/personas/${G}`, 'generated\n');
    await run(fs);
    expect(fs.read(MAP)).toBe(text.replace('"sre.txt"', `"${G}"`));
  });

  it('quarantines an unreferenced generated file with a record of where it came from', async () => {
    const fs = library();
    fs.writeFile(`${COMP}/personas/sre.txt`, 'a person wrote it\n');
    fs.writeFile(`${COMP}/protocols/autogen_protocol_for_gone.txt`, 'old generation\n');
    const { report } = await run(fs);
    expect(report.orphans?.quarantined).toHaveLength(1);
    const moved = report.orphans?.quarantined[0] as string;
    expect(moved.startsWith(`${STATE}/quarantine/components/`)).toBe(true);
    expect(fs.read(moved)).toBe('old generation\n');
    expect(fs.exists(`${COMP}/protocols/autogen_protocol_for_gone.txt`)).toBe(false);
    expect(JSON.parse(fs.read(`${moved}.origin.json`) as string)).toMatchObject({ from: `${COMP}/protocols/autogen_protocol_for_gone.txt` });
  });

  it('with orphans "delete" removes, with "keep" only reports an unreferenced generated file', async () => {
    const del = library();
    del.writeFile(`${COMP}/protocols/autogen_protocol_for_gone.txt`, 'x');
    expect((await run(del, { orphans: 'delete' })).report.orphans?.deleted).toEqual([`${COMP}/protocols/autogen_protocol_for_gone.txt`]);
    expect(del.exists(`${COMP}/protocols/autogen_protocol_for_gone.txt`)).toBe(false);
    const keep = library();
    keep.writeFile(`${COMP}/protocols/autogen_protocol_for_gone.txt`, 'x');
    expect((await run(keep, { orphans: 'keep' })).report.orphans?.kept).toEqual([`${COMP}/protocols/autogen_protocol_for_gone.txt`]);
    expect(keep.exists(`${COMP}/protocols/autogen_protocol_for_gone.txt`)).toBe(true);
  });

  it('only reports a file a person wrote that the map does not reference', async () => {
    const fs = library();
    fs.writeFile(`${COMP}/protocols/draft.txt`, 'mine\n');
    const { report } = await run(fs);
    expect(report.orphans?.unreferenced).toEqual([`${COMP}/protocols/draft.txt`]);
    expect(fs.read(`${COMP}/protocols/draft.txt`)).toBe('mine\n');
  });

  it('creates one waiting request per gap, durably findable by its deterministic id', async () => {
    const fs = library();
    const { report, store } = await run(fs);
    expect(report.applied?.created).toBe(1);
    const id = requestId('DIAGNOSE_ROOT_CAUSE', 'persona', 'sre.txt');
    expect(store.get(id)?.state).toBe('waiting');
    expect(fs.exists(`${STATE}/requests/${id}.json`)).toBe(true);
    const second = await run(fs);
    expect(second.report.applied?.created).toBe(0);
  });

  it.each([
    ['unparsable', '{ "DIAGNOSE_ROOT_CAUSE": '],
    ['not an object', '[1,2]'],
  ])('with an %s map it touches nothing of the library, removes only its own temps beside the map and in its state, and reports why', async (_what, text) => {
    const fs = library(text);
    const temps = [
      '/lib/config/.jitd-tmp.goal_map.json.a1b2c3d4e5f6',
      `${STATE}/requests/.jitd-tmp.abc.json.a1b2c3d4e5f6`,
      `${STATE}/staged/.jitd-tmp.abc.txt.a1b2c3d4e5f6`,
    ];
    for (const t of temps) fs.writeFile(t, 'x');
    fs.writeFile(`${COMP}/protocols/autogen_protocol_for_gone.txt`, 'x');
    fs.writeFile(`${COMP}/protocols/.jitd-tmp.autogen_protocol_for_x.txt.a1b2c3d4e5f6`, 'x');
    const { report } = await run(fs);
    expect(report.mapError).toMatch(/map/);
    expect(report.tempsRemoved.sort()).toEqual([...temps].sort());
    expect(fs.log.filter((o) => o.t !== 'unlink' && o.t !== 'syncdir')).toEqual([]);
    expect(fs.read(MAP)).toBe(text);
    expect(fs.exists(`${COMP}/protocols/autogen_protocol_for_gone.txt`)).toBe(true);
  });

  it('does not roll forward onto a generated file that is gone from disk though the index still lists it', async () => {
    const fs = library();
    fs.writeFile(`${COMP}/personas/${G}`, 'generated\n');
    // The scan sees the file; a person deletes it before the map write (a revert + rm).
    const faulty = faultFs(fs, {
      classify: libraryClassifier({ mapFile: MAP, componentsDir: COMP, stateDir: STATE }),
      hooks: { 'before:open:map#1': () => fs.unlink(`${COMP}/personas/${G}`) },
    });
    const store = new RequestStore(fs, STATE);
    await store.load();
    const { report } = await reconcile({ fs: faulty, mapFile: MAP, componentsDir: COMP, stateDir: STATE, orphans: 'quarantine', store });
    expect(report.applied?.rolledForward).toEqual([]);
    expect(mapOf(fs).DIAGNOSE_ROOT_CAUSE.persona).toBe('sre.txt');
  });

  it("spares a generated file that a person's save made during the reconcile names (the orphan pass re-reads the map)", async () => {
    const fs = library();
    fs.writeFile(`${COMP}/personas/sre.txt`, 'An SRE.\n');
    fs.writeFile(`${COMP}/protocols/autogen_protocol_for_kept.txt`, 'kept\n');
    const saved = { DIAGNOSE_ROOT_CAUSE: { protocol: 'rca.txt', persona: 'sre.txt' }, KEPT: { protocol: 'autogen_protocol_for_kept.txt' } };
    // The first read is the reconcile's snapshot; the person saves right after it.
    const faulty = faultFs(fs, {
      classify: libraryClassifier({ mapFile: MAP, componentsDir: COMP, stateDir: STATE }),
      hooks: { 'after:read:map#1': () => fs.writeFile(MAP, JSON.stringify(saved)) },
    });
    const store = new RequestStore(fs, STATE);
    await store.load();
    const { report } = await reconcile({ fs: faulty, mapFile: MAP, componentsDir: COMP, stateDir: STATE, orphans: 'quarantine', store });
    expect(report.orphans?.quarantined).toEqual([]);
    expect(fs.read(`${COMP}/protocols/autogen_protocol_for_kept.txt`)).toBe('kept\n');
  });

  it('with the map missing it writes nothing and reports it', async () => {
    const fs = library();
    await fs.unlink(MAP);
    const { report } = await run(fs);
    expect(report.mapError).toMatch(/does not exist/);
    expect(fs.log).toEqual([]);
  });

  it('refuses a type directory that is a symlink pointing outside componentsDir, and does not touch what is there', async () => {
    const fs = library();
    fs.mkdirpSync('/elsewhere');
    fs.writeFile('/elsewhere/autogen_format_for_x.txt', 'not ours to move');
    fs.symlink('/elsewhere', `${COMP}/formats`);
    const { report } = await run(fs);
    expect(report.refusedDirs).toEqual([`${COMP}/formats`]);
    expect(fs.read('/elsewhere/autogen_format_for_x.txt')).toBe('not ours to move');
  });

  // Was a bug (fixed): the request of an install whose map write landed but whose `done` record did not (a
  // crash in between, or a power cut: the record is saved with durable:false) stays `answered`
  // for good — planSync looks up requests only by the entry's current file name, which is now
  // the generated one (src/reconcile/plan-sync.ts:69-73). See kill-matrix.test.ts.
  it('closes the request of an install whose map write landed but whose done record did not', async () => {
    const fs = library({ DIAGNOSE_ROOT_CAUSE: { protocol: 'rca.txt', persona: G } });
    fs.writeFile(`${COMP}/personas/${G}`, 'generated\n');
    const r = { ...newRequest('DIAGNOSE_ROOT_CAUSE', 'persona', 'sre.txt'), state: 'answered' as const, description: 'an SRE' };
    fs.writeFile(`${STATE}/requests/${r.id}.json`, JSON.stringify(r));
    const { store } = await run(fs);
    expect(store.get(r.id)?.state).toBe('done');
  });

  // Was a bug (fixed): the quarantine name is `<UTC second>-<dir>-<name>` (src/reconcile/orphans.ts:77)
  // and the move is a rename (:36), which replaces: the same orphan name quarantined twice
  // in one second silently replaces the first copy and its origin record. Fix: publish into
  // quarantine without clobbering (link + EEXIST -> add a counter/random suffix), or always add
  // a unique suffix.
  it('never replaces an earlier quarantined file of the same name', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2025-01-01T00:00:00Z'));
    try {
      const fs = library();
      fs.writeFile(`${COMP}/protocols/autogen_protocol_for_x.txt`, 'first\n');
      await run(fs);
      fs.writeFile(`${COMP}/protocols/autogen_protocol_for_x.txt`, 'second\n');
      await run(fs);
      const kept = fs.walk(`${STATE}/quarantine/components`).map((p) => fs.read(p));
      expect(kept).toContain('first\n');
      expect(kept).toContain('second\n');
    } finally {
      vi.useRealTimers();
    }
  });

  it('removes `status --sync` cookies left in componentsDir itself, and spares one still watched', async () => {
    const fs = library();
    const stale = `${COMP}/.jitd-tmp.cookie-0123456789ab`;
    const live = `${COMP}/.jitd-tmp.cookie-ba9876543210`;
    fs.writeFile(stale, '');
    fs.writeFile(live, '');
    liveTemps.add(live);
    try {
      const { report } = await run(fs);
      expect(report.tempsRemoved).toEqual([stale]);
      expect(fs.exists(stale)).toBe(false);
      expect(fs.exists(live)).toBe(true);
    } finally {
      liveTemps.delete(live);
    }
  });

  it('does not adopt a symlink under a generated name that points outside: the entry is requested instead', async () => {
    const fs = library();
    fs.writeFile('/elsewhere/secret.txt', 'not ours');
    fs.symlink('/elsewhere/secret.txt', `${COMP}/personas/${G}`);
    const { report, store } = await run(fs);
    expect(report.applied?.rolledForward).toEqual([]);
    expect(mapOf(fs).DIAGNOSE_ROOT_CAUSE.persona).toBe('sre.txt');
    expect(store.get(requestId('DIAGNOSE_ROOT_CAUSE', 'persona', 'sre.txt'))?.state).toBe('waiting');
    expect(report.orphans?.quarantined).toEqual([]);
    expect(fs.read('/elsewhere/secret.txt')).toBe('not ours');
  });

  it('still adopts a symlink under a generated name that stays inside componentsDir', async () => {
    const fs = library();
    fs.writeFile(`${COMP}/personas/shared.txt`, 'An SRE.\n');
    fs.symlink(`${COMP}/personas/shared.txt`, `${COMP}/personas/${G}`);
    const { report } = await run(fs);
    expect(report.applied?.rolledForward).toEqual([`DIAGNOSE_ROOT_CAUSE.persona: sre.txt -> ${G}`]);
  });

  it('reports a type directory it cannot read, leaves its entries alone and reconciles the rest', async () => {
    const mem = library({ A: { protocol: 'rca.txt', persona: 'sre.txt' }, B: { protocol: 'missing.txt' } });
    mem.writeFile(`${COMP}/personas/autogen_persona_for_gone.txt`, 'would be an orphan');
    const waiting = newRequest('A', 'persona', 'sre.txt');
    mem.writeFile(`${STATE}/requests/${waiting.id}.json`, JSON.stringify(waiting));
    const classify = libraryClassifier({ mapFile: MAP, componentsDir: COMP, stateDir: STATE });
    const personas = `${COMP}/personas`;
    const fs = faultFs(mem, { classify: (p) => (p === personas ? 'personas' : classify(p)), faults: [{ at: 'readdir:personas', fault: { error: 'EACCES' } }] });
    const store = new RequestStore(fs, STATE);
    await store.load();
    const { report } = await reconcile({ fs, mapFile: MAP, componentsDir: COMP, stateDir: STATE, orphans: 'quarantine', store });
    expect(report.unreadableDirs).toEqual([expect.objectContaining({ dir: personas, code: 'EACCES' })]);
    expect(store.get(waiting.id)?.state).toBe('waiting'); // neither withdrawn nor resolved
    expect(
      store
        .all()
        .map((r) => `${r.goal}.${r.type}`)
        .sort(),
    ).toEqual(['A.persona', 'B.protocol']);
    expect(report.orphans?.quarantined).toEqual([]);
    expect(mem.exists(`${COMP}/personas/autogen_persona_for_gone.txt`)).toBe(true);
  });

  it('still fails as a whole on an error that is not about one directory (a simulated crash)', async () => {
    const mem = library();
    const fs = faultFs(mem, { classify: libraryClassifier({ mapFile: MAP, componentsDir: COMP, stateDir: STATE }), crashAt: 'before:readdir:component#1' });
    const store = new RequestStore(mem, STATE);
    await store.load();
    await expect(reconcile({ fs, mapFile: MAP, componentsDir: COMP, stateDir: STATE, orphans: 'quarantine', store })).rejects.toThrow(/simulated crash/);
  });

  describe("a person's map temp file (`jq … > goal_map.json.tmp && mv …`) is theirs (invariant 4)", () => {
    const TMP = '/lib/config/goal_map.json.tmp';

    it("a fresh goal_map.json.tmp is left alone by a reconcile between its write and its rename, so the rename lands the person's map", async () => {
      const fs = library();
      // The interleaving of the idiom with a run-time reconcile: the redirect wrote the temp ...
      const theirs = `${JSON.stringify({ DIAGNOSE_ROOT_CAUSE: { protocol: 'rca.txt', persona: 'sre.txt' }, NEW: { protocol: 'rca.txt' } }, null, 2)}\n`;
      fs.writeFile(TMP, theirs);
      // ... a reconcile runs (the file is seconds old, not minutes) ...
      const { report } = await run(fs, { seedTempStaleMs: Number.MAX_SAFE_INTEGER });
      expect(report.tempsRemoved).toEqual([]);
      expect(report.seedTempQuarantined).toBeUndefined();
      expect(fs.read(TMP)).toBe(theirs);
      // ... and the `mv` succeeds.
      await fs.rename(TMP, MAP);
      expect(fs.read(MAP)).toBe(theirs);
    });

    it("a stale one (a crashed seed-era run's) is moved to quarantine with an origin record, never deleted", async () => {
      const fs = library();
      fs.writeFile(TMP, '{"half": ');
      const { report } = await run(fs, { seedTempStaleMs: 0 });
      const moved = report.seedTempQuarantined as string;
      expect(moved.startsWith(`${STATE}/quarantine/temps/`)).toBe(true);
      expect(fs.read(moved)).toBe('{"half": ');
      expect(JSON.parse(fs.read(`${moved}.origin.json`) as string)).toMatchObject({ from: TMP });
      expect(fs.exists(TMP)).toBe(false);
      expect(report.tempsRemoved).toEqual([]);
    });

    it('is not touched while git is busy, even when stale', async () => {
      const fs = library();
      fs.writeFile(TMP, 'x');
      const { report } = await run(fs, { seedTempStaleMs: 0, hold: () => 'merge in progress' });
      expect(report.seedTempQuarantined).toBeUndefined();
      expect(fs.read(TMP)).toBe('x');
    });
  });

  describe("an answer, once given, is jitd's for good (contract §3)", () => {
    const done = (patch: Partial<Request> = {}): Request => ({
      ...newRequest('DIAGNOSE_ROOT_CAUSE', 'persona', 'sre.txt'),
      state: 'done',
      description: 'an SRE',
      resolution: 'generated',
      ...patch,
    });

    it('a done request whose map entry names its original file again, the component gone, is reopened with its description and scheduled, asking nobody', async () => {
      const fs = library();
      const r = done();
      fs.writeFile(`${STATE}/requests/${r.id}.json`, JSON.stringify(r));
      const { report, store } = await run(fs);
      expect(store.get(r.id)).toMatchObject({ state: 'answered', description: 'an SRE' });
      expect(report.toGenerate.map((x) => x.id)).toEqual([r.id]);
      expect(report.applied?.created).toBe(0);
    });

    it('a generated file the map names again (a branch switch) is restored from quarantine, not asked for', async () => {
      const fs = library({ DIAGNOSE_ROOT_CAUSE: { protocol: 'rca.txt', persona: G } });
      const r = done();
      fs.writeFile(`${STATE}/requests/${r.id}.json`, JSON.stringify(r));
      fs.writeFile(`${COMP}/personas/${G}`, 'generated\n');
      // The other branch's map does not name it: it goes to quarantine ...
      const away = `${JSON.stringify({ DIAGNOSE_ROOT_CAUSE: { protocol: 'rca.txt' } }, null, 2)}\n`;
      const back = fs.read(MAP) as string;
      fs.writeFile(MAP, away);
      expect((await run(fs)).report.orphans?.quarantined).toHaveLength(1);
      expect(fs.exists(`${COMP}/personas/${G}`)).toBe(false);
      // ... and the way back restores it.
      fs.writeFile(MAP, back);
      const { report, store } = await run(fs);
      expect(report.applied?.restored).toHaveLength(1);
      expect(fs.read(`${COMP}/personas/${G}`)).toBe('generated\n');
      expect(report.applied?.created).toBe(0);
      expect(store.all().filter((x) => x.state === 'waiting')).toEqual([]);
      expect(fs.read(MAP)).toBe(back);
    });

    it("with nothing in quarantine it is restored from the request's kept output", async () => {
      const fs = library({ DIAGNOSE_ROOT_CAUSE: { protocol: 'rca.txt', persona: G } });
      const r = done();
      fs.writeFile(`${STATE}/requests/${r.id}.json`, JSON.stringify(r));
      const staged = new StagedOutputs(fs, STATE);
      await staged.load();
      await staged.put(r.id, 'kept output\n');
      const { report } = await run(fs, { staged });
      expect(report.applied?.restored).toEqual([`personas/${G} <- ${staged.pathOf(r.id)}`]);
      expect(fs.read(`${COMP}/personas/${G}`)).toBe('kept output\n');
    });

    it('a generated name jitd has no copy of is asked for like any gap', async () => {
      const fs = library({ DIAGNOSE_ROOT_CAUSE: { protocol: 'rca.txt', persona: G } });
      const { report, store } = await run(fs);
      expect(report.applied?.restored).toEqual([]);
      expect(store.get(requestId('DIAGNOSE_ROOT_CAUSE', 'persona', G))?.state).toBe('waiting');
    });
  });

  describe('while git is busy (hold) library writes wait; request records do not', () => {
    it('no roll-forward, restore or orphan move is made, and the report says why', async () => {
      const fs = library();
      fs.writeFile(`${COMP}/personas/${G}`, 'generated\n');
      fs.writeFile(`${COMP}/protocols/autogen_protocol_for_gone.txt`, 'orphan\n');
      const before = fs.read(MAP);
      const { report } = await run(fs, { hold: () => 'rebase in progress' });
      expect(report.held).toBe('rebase in progress');
      expect(fs.read(MAP)).toBe(before);
      expect(report.orphans).toBeUndefined();
      expect(fs.exists(`${COMP}/protocols/autogen_protocol_for_gone.txt`)).toBe(true);
      // Once the hold is over the same reconcile does it all.
      const after = await run(fs);
      expect(mapOf(fs).DIAGNOSE_ROOT_CAUSE.persona).toBe(G);
      expect(after.report.orphans?.quarantined).toHaveLength(1);
    });

    it('requests are still created', async () => {
      const fs = library({ A: { protocol: 'missing.txt' } });
      const { store } = await run(fs, { hold: () => 'merge in progress' });
      expect(store.get(requestId('A', 'protocol', 'missing.txt'))?.state).toBe('waiting');
    });
  });
});
