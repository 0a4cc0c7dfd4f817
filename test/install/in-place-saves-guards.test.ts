/**
 * The in-place save watch's guards (in-place-saves.ts, invariant 4), each on a fake clock: the
 * poll, the settle and the grace are stepped through exactly (`vi.advanceTimersByTimeAsync`),
 * never waited for, and a save between two of the watch's steps is made by a hook of
 * fault-fs.ts. Found by mutation testing (docs/mutation-testing.md).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { commitRepoints } from '../../src/install/map-commit.js';
import { FsyncFailedError } from '../../src/fsio/errors.js';
import { InPlaceSaves, inPlaceSavesFor } from '../../src/install/in-place-saves.js';
import type { FaultFs, FaultRule } from '../support/fault-fs.js';
import { COMPONENTS, G, MAP, ORIGINAL, PERSONS, RA, RB, REPOINT, STATE, TWO, inPlaceLib, repointed, twoEntries } from './in-place-fixture.js';

/** Poll 10 ms, settle 30 ms (the fixture's); the grace is 2 s unless a test says otherwise. */
const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);
/** Past one poll and the settle of a save made now, then the lane's re-apply. */
const settleAndApply = async (lib: { idle(): Promise<void> }) => {
  await advance(40);
  await lib.idle();
};
const NOW = new Date('2026-12-03T05:00:00.000Z');
const BACK = { ...REPOINT, from: G, to: 'sre.txt' };
const count = (fs: FaultFs, prefix: string) => fs.steps.filter((s) => s.startsWith(prefix)).length;
/** The name of the next `op:role` step of `fs`. */
const next = (fs: FaultFs, key: string) => `${key}#${count(fs, `${key}#`) + 1}`;

beforeEach(() => {
  vi.useFakeTimers({ now: NOW });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('the watch of a replaced version', () => {
  it('polls every pollMs and re-applies a save once it has been still for settleMs, not before', async () => {
    const lib = inPlaceLib();
    const editor = lib.mem.openInPlace(MAP);
    await commitRepoints(lib.fs, MAP, [REPOINT]);
    editor.save(PERSONS);
    await advance(10);
    expect(lib.saves.stats()).toMatchObject({ detected: 1 });
    await advance(29);
    expect(lib.scheduled).toEqual([]);
    await advance(1); // 30 ms after the poll that saw the save
    expect(lib.scheduled).toEqual(['re-applying an in-place save']);
    await lib.idle();
    expect(lib.recovered).toEqual([{ outcome: 'reapplied', bytes: PERSONS.length, repoints: 1 }]);
    expect(lib.mem.read(MAP)).toBe(repointed(PERSONS));
    await lib.saves.stop();
  });

  it('counts a save written in two parts as one, and re-applies only the whole once it is still', async () => {
    const lib = inPlaceLib();
    const editor = lib.mem.openInPlace(MAP);
    await commitRepoints(lib.fs, MAP, [REPOINT]);
    editor.save(PERSONS.slice(0, 20));
    await advance(20);
    editor.save(PERSONS);
    await advance(30); // seen again at 30 ms: still for only 20 ms
    expect(lib.scheduled).toEqual([]);
    await advance(10);
    await lib.idle();
    expect(lib.saves.stats()).toMatchObject({ detected: 1, reapplied: 1 });
    expect(lib.recovered).toMatchObject([{ outcome: 'reapplied', bytes: PERSONS.length }]);
    await lib.saves.stop();
  });

  it('gives a save seen at the end of the grace its full settle and re-apply', async () => {
    const lib = inPlaceLib({ graceMs: 100 });
    const editor = lib.mem.openInPlace(MAP);
    await commitRepoints(lib.fs, MAP, [REPOINT]);
    await advance(95);
    editor.save(PERSONS);
    await advance(35); // seen at 100 ms, the end of the grace; re-applied at 130 ms
    await lib.idle();
    expect(lib.recovered).toMatchObject([{ outcome: 'reapplied' }]);
    await lib.saves.stop();
  });

  it('watches a version nobody writes into for exactly the grace, then lets it go and stops polling', async () => {
    const lib = inPlaceLib({ graceMs: 100 });
    await commitRepoints(lib.fs, MAP, [REPOINT]);
    await advance(90);
    expect(lib.saves.stats().watching).toBe(1);
    expect(vi.getTimerCount()).toBe(1);
    await advance(10);
    expect(lib.saves.stats().watching).toBe(0);
    expect(lib.mem.keptOpen).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    await lib.saves.stop();
  });

  it('re-applies each of two saves into the same version, each once, with the repoint once', async () => {
    const lib = inPlaceLib();
    const editor = lib.mem.openInPlace(MAP);
    await commitRepoints(lib.fs, MAP, [REPOINT]);
    editor.save(PERSONS);
    await settleAndApply(lib);
    const again = PERSONS.replace('f.txt', 'g.txt');
    editor.save(again);
    await settleAndApply(lib);
    expect(lib.recovered).toMatchObject([
      { outcome: 'reapplied', repoints: 1 },
      { outcome: 'reapplied', repoints: 1 },
    ]);
    expect(lib.mem.read(MAP)).toBe(repointed(again));
    expect(lib.saves.stats()).toMatchObject({ detected: 2, reapplied: 2 });
    await lib.saves.stop();
  });

  it('schedules a settled save on the lane once, however long the lane takes to run it', async () => {
    const lib = inPlaceLib({ holdLane: true });
    const editor = lib.mem.openInPlace(MAP);
    await commitRepoints(lib.fs, MAP, [REPOINT]);
    editor.save(PERSONS);
    await advance(200);
    expect(lib.scheduled).toHaveLength(1);
    await lib.releaseLane();
    expect(lib.recovered).toMatchObject([{ outcome: 'reapplied' }]);
    await lib.saves.stop();
  });

  it('waits for a slow fstat: no other poll starts meanwhile', async () => {
    let unblock = () => {};
    const hooks: Record<string, () => unknown> = {};
    const lib = inPlaceLib({ plan: { hooks } });
    await commitRepoints(lib.fs, MAP, [REPOINT]);
    hooks['before:fstat:map#1'] = () => new Promise<void>((r) => (unblock = r));
    await advance(100);
    expect(count(lib.fs as FaultFs, 'fstat:map')).toBe(1);
    unblock();
    await advance(10);
    expect(count(lib.fs as FaultFs, 'fstat:map')).toBe(2);
    await lib.saves.stop();
  });

  it('keeps polling the other versions when one is let go, with every repoint since their own commit', async () => {
    const lib = inPlaceLib({ graceMs: 100 });
    twoEntries(lib.mem);
    await commitRepoints(lib.fs, MAP, [RA]); // its version is let go at 100 ms
    await advance(50);
    const editor = lib.mem.openInPlace(MAP);
    await commitRepoints(lib.fs, MAP, [RB]);
    await advance(50);
    expect(lib.saves.stats().watching).toBe(1);
    const mine = `{"A":{"protocol":"${RA.to}"},"C":{"protocol":"c.txt"},"B":{"protocol":"b.txt"}}`;
    editor.save(mine);
    await settleAndApply(lib);
    expect(lib.recovered).toMatchObject([{ outcome: 'reapplied', repoints: 1 }]);
    expect(lib.mem.read(MAP)).toBe(mine.replace('"b.txt"', JSON.stringify(RB.to)));
    await lib.saves.stop();
  });

  it("does not re-apply a repoint older than the version saved into: the person's undoing of it stands", async () => {
    const lib = inPlaceLib();
    twoEntries(lib.mem);
    await commitRepoints(lib.fs, MAP, [RA]);
    const editor = lib.mem.openInPlace(MAP); // the person sees A repointed
    await commitRepoints(lib.fs, MAP, [RB]);
    editor.save(TWO); // and puts A back
    await settleAndApply(lib);
    expect(lib.mem.read(MAP)).toBe(TWO.replace('"b.txt"', JSON.stringify(RB.to)));
    await lib.saves.stop();
  });

  it('ignores a save of the very bytes the version had', async () => {
    const lib = inPlaceLib();
    const editor = lib.mem.openInPlace(MAP);
    await commitRepoints(lib.fs, MAP, [REPOINT]);
    editor.save(ORIGINAL);
    await settleAndApply(lib);
    expect(lib.saves.stats()).toMatchObject({ detected: 1, reapplied: 0, keptAside: 0 });
    expect(lib.recovered).toEqual([]);
    expect(lib.mem.read(MAP)).toBe(repointed(ORIGINAL));
    await lib.saves.stop();
  });

  it("writes nothing when the save, with jitd's repoints, is already the map", async () => {
    const lib = inPlaceLib();
    const editor = lib.mem.openInPlace(MAP);
    await commitRepoints(lib.fs, MAP, [REPOINT]);
    const before = (await lib.mem.lstat(MAP)).identity;
    editor.save(repointed(ORIGINAL));
    await settleAndApply(lib);
    expect(lib.recovered).toEqual([{ outcome: 'reapplied', bytes: ORIGINAL.length + G.length - 'sre.txt'.length, repoints: 0 }]);
    expect((await lib.mem.lstat(MAP)).identity).toBe(before);
    expect(lib.saves.stats().watching).toBe(1);
    await lib.saves.stop();
  });

  it('publishes a save that does not parse as written, with no repoint', async () => {
    const lib = inPlaceLib();
    const editor = lib.mem.openInPlace(MAP);
    await commitRepoints(lib.fs, MAP, [REPOINT]);
    const half = '{\r\n  "DIAGNOSE_ROOT_CAUSE": { "persona": "sre.txt" },';
    editor.save(half);
    await settleAndApply(lib);
    expect(lib.recovered).toEqual([{ outcome: 'reapplied', bytes: half.length, repoints: 0 }]);
    expect(lib.mem.read(MAP)).toBe(half);
    await lib.saves.stop();
  });

  it('publishes as written a save in which a repointed goal is gone or not an object', async () => {
    const lib = inPlaceLib();
    twoEntries(lib.mem);
    const editor = lib.mem.openInPlace(MAP);
    await commitRepoints(lib.fs, MAP, [RA, RB]);
    const mine = '{"A":null,"C":{"protocol":"c.txt"}}';
    editor.save(mine);
    await settleAndApply(lib);
    expect(lib.errors).toEqual([]);
    expect(lib.recovered).toEqual([{ outcome: 'reapplied', bytes: mine.length, repoints: 0 }]);
    expect(lib.mem.read(MAP)).toBe(mine);
    await lib.saves.stop();
  });

  it('re-applies a repoint where its generated file is a file or a symlink, not where it is gone; two types of one goal each', async () => {
    const lib = inPlaceLib();
    const map = '{"D":{"persona":"p.txt","protocol":"r.txt"},"E":{"persona":"e.txt"}}';
    lib.mem.writeFile(MAP, map);
    lib.mem.writeFile(`${COMPONENTS}/personas/autogen_persona_for_d.txt`, 'p\n');
    lib.mem.mkdirpSync(`${COMPONENTS}/protocols`);
    lib.mem.symlink(`${COMPONENTS}/personas/autogen_persona_for_d.txt`, `${COMPONENTS}/protocols/autogen_protocol_for_d.txt`);
    const repoints = [
      { goal: 'D', type: 'persona', from: 'p.txt', to: 'autogen_persona_for_d.txt' },
      { goal: 'D', type: 'protocol', from: 'r.txt', to: 'autogen_protocol_for_d.txt' },
      { goal: 'E', type: 'persona', from: 'e.txt', to: 'autogen_persona_for_e.txt' }, // not on disk
    ];
    const editor = lib.mem.openInPlace(MAP);
    expect((await commitRepoints(lib.fs, MAP, repoints)).outcomes).toEqual(['applied', 'applied', 'applied']);
    const mine = map.replace('}}', '},"F":{"format":"f.txt"}}');
    editor.save(mine);
    await settleAndApply(lib);
    expect(lib.recovered).toMatchObject([{ outcome: 'reapplied', repoints: 2 }]);
    expect(JSON.parse(lib.mem.read(MAP) as string)).toEqual({
      D: { persona: 'autogen_persona_for_d.txt', protocol: 'autogen_protocol_for_d.txt' },
      E: { persona: 'e.txt' },
      F: { format: 'f.txt' },
    });
    await lib.saves.stop();
  });

  it('re-applies a save still being written when read only once it is still (a write between the read and the fstat)', async () => {
    const hooks: Record<string, () => unknown> = {};
    const lib = inPlaceLib({ plan: { hooks } });
    const editor = lib.mem.openInPlace(MAP);
    await commitRepoints(lib.fs, MAP, [REPOINT]);
    const part = PERSONS.slice(0, 30);
    editor.save(part);
    hooks['after:pread:map#1'] = () => editor.save(PERSONS);
    await settleAndApply(lib);
    expect(lib.recovered).toEqual([]);
    await settleAndApply(lib);
    expect(lib.recovered).toEqual([{ outcome: 'reapplied', bytes: PERSONS.length, repoints: 1 }]);
    await lib.saves.stop();
  });
});

describe("the re-apply's guards", () => {
  it('keeps the save aside when the map is gone', async () => {
    const lib = inPlaceLib();
    const editor = lib.mem.openInPlace(MAP);
    await commitRepoints(lib.fs, MAP, [REPOINT]);
    await lib.mem.unlink(MAP);
    editor.save(PERSONS);
    await settleAndApply(lib);
    expect(lib.recovered).toMatchObject([{ outcome: 'kept-aside', reason: 'the map is gone' }]);
    expect(lib.errors).toEqual([]);
    await lib.saves.stop();
  });

  it("keeps the save aside, the person's save on the path standing, when one with the same bytes lands before the pre-publish check", async () => {
    const hooks: Record<string, () => unknown> = {};
    const lib = inPlaceLib({ plan: { hooks } });
    const editor = lib.mem.openInPlace(MAP);
    await commitRepoints(lib.fs, MAP, [REPOINT]);
    let theirs = '';
    hooks[`after:${next(lib.fs as FaultFs, 'read:map')}`] = async () => {
      lib.mem.writeFile(MAP, lib.mem.read(MAP) as string); // same bytes, a new version
      theirs = (await lib.mem.lstat(MAP)).identity;
    };
    editor.save(PERSONS);
    await settleAndApply(lib);
    expect(lib.recovered).toMatchObject([{ outcome: 'kept-aside', reason: 'could not publish it: the map changed' }]);
    expect((await lib.mem.lstat(MAP)).identity).toBe(theirs);
    await lib.saves.stop();
  });

  it('keeps the save aside when a save lands between the pre-publish re-read and its second lstat', async () => {
    const hooks: Record<string, () => unknown> = {};
    const lib = inPlaceLib({ plan: { hooks } });
    const editor = lib.mem.openInPlace(MAP);
    await commitRepoints(lib.fs, MAP, [REPOINT]);
    const newer = '{"SOMEONE_ELSE": {"protocol": "x.txt"}}\n';
    const reads = count(lib.fs as FaultFs, 'read:map#');
    hooks[`after:read:map#${reads + 2}`] = () => lib.mem.writeFile(MAP, newer);
    editor.save(PERSONS);
    await settleAndApply(lib);
    expect(lib.recovered).toMatchObject([{ outcome: 'kept-aside', reason: 'could not publish it: the map changed' }]);
    expect(lib.mem.read(MAP)).toBe(newer);
    await lib.saves.stop();
  });

  it('surfaces a failed fsync of the re-apply on the lane (FsyncFailedError), keeping nothing aside', async () => {
    const faults: FaultRule[] = [];
    const lib = inPlaceLib({ plan: { faults } });
    const editor = lib.mem.openInPlace(MAP);
    await commitRepoints(lib.fs, MAP, [REPOINT]);
    faults.push({ at: next(lib.fs as FaultFs, 'fsync:map'), fault: { error: 'EIO' } });
    editor.save(PERSONS);
    await settleAndApply(lib);
    expect(lib.laneErrors).toHaveLength(1);
    expect(lib.laneErrors[0]).toBeInstanceOf(FsyncFailedError);
    expect(lib.recovered).toEqual([]);
    expect(lib.errors).toEqual([]);
    await lib.saves.stop();
  });

  it('reports a failed read of the kept version, and publishes nothing', async () => {
    const lib = inPlaceLib({ plan: { faults: [{ at: 'pread:map', fault: { error: 'EIO' } }] } });
    const editor = lib.mem.openInPlace(MAP);
    await commitRepoints(lib.fs, MAP, [REPOINT]);
    editor.save(PERSONS);
    await settleAndApply(lib);
    expect(lib.errors).toMatchObject([{ code: 'EIO' }]);
    expect(lib.laneErrors).toEqual([]);
    expect(lib.mem.read(MAP)).toBe(repointed(ORIGINAL));
    await lib.saves.stop();
  });

  it('reports a failed fstat of a kept version and lets it go', async () => {
    const lib = inPlaceLib({ plan: { faults: [{ at: 'fstat:map', fault: { error: 'EIO' } }] } });
    await commitRepoints(lib.fs, MAP, [REPOINT]);
    await advance(10);
    expect(lib.errors).toMatchObject([{ code: 'EIO' }]);
    expect(lib.saves.stats().watching).toBe(0);
    expect(lib.mem.keptOpen).toBe(0);
    await lib.saves.stop();
  });

  it('needs no listener: a failed fstat, a failed read and a re-apply report to no one and throw nothing', async () => {
    const faults: FaultRule[] = [];
    const quiet = inPlaceLib({ noRecovered: true, noErrors: true, plan: { faults } });
    const editor = quiet.mem.openInPlace(MAP);
    await commitRepoints(quiet.fs, MAP, [REPOINT]);
    editor.save(PERSONS);
    await advance(40);
    await quiet.idle();
    expect(quiet.mem.read(MAP)).toBe(repointed(PERSONS));
    faults.push({ at: 'pread:map', fault: { error: 'EIO' } });
    editor.save(ORIGINAL);
    await advance(40);
    await quiet.idle();
    faults.push({ at: 'fstat:map', fault: { error: 'EIO' } });
    await advance(10);
    expect(quiet.laneErrors).toEqual([]);
    expect(quiet.saves.stats().watching).toBe(0);
    await quiet.saves.stop();
    // With onError but no onRecovered, a re-apply reports no error.
    const half = inPlaceLib({ noRecovered: true });
    const other = half.mem.openInPlace(MAP);
    await commitRepoints(half.fs, MAP, [REPOINT]);
    other.save(PERSONS);
    await advance(40);
    await half.idle();
    expect(half.errors).toEqual([]);
    expect(half.saves.stats()).toMatchObject({ reapplied: 1 });
    await half.saves.stop();
  });
});

describe('a save kept aside', () => {
  /** A save into the replaced version after a person saved the map again: it is kept aside. */
  async function keptAside(lib: ReturnType<typeof inPlaceLib>) {
    const editor = lib.mem.openInPlace(MAP);
    await commitRepoints(lib.fs, MAP, [REPOINT]);
    lib.mem.writeFile(MAP, '{"SOMEONE_ELSE": {"protocol": "x.txt"}}\n');
    editor.save(PERSONS);
    await settleAndApply(lib);
  }
  const NAME = `${STATE}/recovered/goal_map.json.2026-12-03T05-00-00-040Z`;

  it('is named after the map, the time (":" and "." as "-") and a number, mode 0600, with no temp left beside it', async () => {
    const lib = inPlaceLib();
    await keptAside(lib);
    expect(lib.recovered).toMatchObject([{ outcome: 'kept-aside', path: `${NAME}.1` }]);
    expect(lib.mem.read(`${NAME}.1`)).toBe(PERSONS);
    expect((await lib.mem.lstat(`${NAME}.1`)).mode & 0o777).toBe(0o600);
    expect((await lib.mem.readdir(`${STATE}/recovered`)).map((e) => e.name)).toEqual(['goal_map.json.2026-12-03T05-00-00-040Z.1']);
    await lib.saves.stop();
  });

  it('takes the next number when the name is taken', async () => {
    const lib = inPlaceLib();
    lib.mem.writeFile(`${NAME}.1`, 'an earlier one\n');
    await keptAside(lib);
    expect(lib.recovered).toMatchObject([{ outcome: 'kept-aside', path: `${NAME}.2` }]);
    expect(lib.mem.read(`${NAME}.1`)).toBe('an earlier one\n');
    await lib.saves.stop();
  });

  it('reports a disk error once, with no retry', async () => {
    const lib = inPlaceLib({ plan: { faults: [{ at: 'open:state', fault: { error: 'ENOSPC' } }] } });
    await keptAside(lib);
    expect(lib.errors).toHaveLength(1);
    expect(count(lib.fs as FaultFs, 'open:state')).toBe(1);
    expect(lib.recovered).toEqual([]);
    await lib.saves.stop();
  });
});

describe('the bound on versions watched, the registry, stop', () => {
  it('holds at most 64 versions, letting the oldest one not on the lane go first', async () => {
    const lib = inPlaceLib({ holdLane: true });
    const editor = lib.mem.openInPlace(MAP);
    await commitRepoints(lib.fs, MAP, [REPOINT]);
    editor.save(PERSONS);
    await advance(40); // on the lane
    for (let i = 1; i <= 64; i++) await commitRepoints(lib.fs, MAP, [i % 2 ? BACK : REPOINT]);
    expect(lib.saves.stats().watching).toBe(64);
    expect(lib.mem.keptOpen).toBe(64);
    await lib.releaseLane();
    expect(lib.errors).toEqual([]);
    expect(lib.recovered).toMatchObject([{ outcome: 'reapplied' }]);
    await lib.saves.stop();
  });

  it('lets none go when all 64 are on the lane', async () => {
    const lib = inPlaceLib({ holdLane: true });
    const editors = [];
    for (let i = 0; i < 64; i++) {
      editors.push(lib.mem.openInPlace(MAP));
      await commitRepoints(lib.fs, MAP, [i % 2 ? BACK : REPOINT]);
    }
    for (const [i, e] of editors.entries()) e.save(PERSONS.replace('f.txt', `f${i}.txt`));
    await advance(40);
    expect(lib.scheduled).toHaveLength(64);
    await commitRepoints(lib.fs, MAP, [REPOINT]);
    expect(lib.saves.stats().watching).toBe(65);
    await lib.saves.stop();
  });

  it('finds the watcher of each map of a layer; stop unregisters only its own', async () => {
    const lib = inPlaceLib();
    const opts = { fs: lib.fs, componentsDir: COMPONENTS, stateDir: STATE, schedule: () => undefined };
    const other = new InPlaceSaves({ ...opts, mapFile: '/other/goal_map.json' });
    expect(inPlaceSavesFor(lib.fs, MAP)).toBe(lib.saves);
    expect(inPlaceSavesFor(lib.fs, '/other/goal_map.json')).toBe(other);
    const newer = new InPlaceSaves({ ...opts, mapFile: MAP });
    await lib.saves.stop();
    expect(inPlaceSavesFor(lib.fs, MAP)).toBe(newer);
    await newer.stop();
    expect(inPlaceSavesFor(lib.fs, MAP)).toBeUndefined();
    await other.stop();
  });

  it('watches nothing for a commit whose replaced version could not be kept open', () => {
    const lib = inPlaceLib();
    lib.saves.noteCommit({ published: 'mem:1:0:0', kept: undefined }, 'mem:2:0:0', Buffer.from(ORIGINAL), []);
    expect(lib.saves.stats().watching).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('after stop, lets a replaced version go at once and starts no timer', async () => {
    const lib = inPlaceLib();
    await lib.saves.stop();
    await commitRepoints(lib.fs, MAP, [REPOINT]);
    expect(lib.saves.stats().watching).toBe(0);
    expect(lib.mem.keptOpen).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('at stop, re-applies a save seen but not yet still, and reads no version nobody wrote into', async () => {
    const lib = inPlaceLib({ plan: {} });
    const editor = lib.mem.openInPlace(MAP);
    await commitRepoints(lib.fs, MAP, [REPOINT]);
    await commitRepoints(lib.fs, MAP, [BACK]); // a second version, not written into
    editor.save(PERSONS);
    await advance(10);
    await lib.saves.stop();
    expect(lib.recovered).toMatchObject([{ outcome: 'reapplied' }]);
    expect(count(lib.fs as FaultFs, 'pread:map')).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
    expect(lib.mem.keptOpen).toBe(0);
  });

  it('at stop, takes a version whose fstat fails as unchanged', async () => {
    const faults: FaultRule[] = [];
    const lib = inPlaceLib({ plan: { faults } });
    await commitRepoints(lib.fs, MAP, [REPOINT]);
    faults.push({ at: 'fstat:map', fault: { error: 'EIO' } });
    await lib.saves.stop();
    expect(count(lib.fs as FaultFs, 'pread:map')).toBe(0);
    expect(lib.errors).toEqual([]);
    expect(lib.mem.keptOpen).toBe(0);
  });

  it('at stop, leaves a re-apply already on the lane to the lane, the version still open for it', async () => {
    const lib = inPlaceLib({ holdLane: true });
    const editor = lib.mem.openInPlace(MAP);
    await commitRepoints(lib.fs, MAP, [REPOINT]);
    editor.save(PERSONS);
    await advance(40); // on the lane, which the daemon drains after stop
    await lib.saves.stop();
    await lib.releaseLane();
    expect(lib.errors).toEqual([]);
    expect(lib.recovered).toMatchObject([{ outcome: 'reapplied' }]);
    expect(lib.mem.read(MAP)).toBe(repointed(PERSONS));
    expect(lib.mem.keptOpen).toBe(0);
  });
});
