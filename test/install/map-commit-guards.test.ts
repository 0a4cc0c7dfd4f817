/**
 * The guards of the map commit (contract §1, §4, §5), each proved by a deterministic interleaving
 * (a hook in the fs layer that acts between a check and the publish) or an injected fault: the
 * identity re-check around the pre-publish re-read, the restart condition and its bound, the
 * second presence check, and the map's permission bits. Found by mutation testing
 * (docs/mutation-testing.md).
 */
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { commitRepoints } from '../../src/install/map-commit.js';
import { DiskWriteError, FsyncFailedError } from '../../src/fsio/errors.js';
import { nodeFs } from '../../src/fsio/node-fs.js';
import { faultFs, libraryClassifier } from '../support/fault-fs.js';
import { MemFs } from '../support/mem-fs.js';
import { MAP as WATCHED_MAP, RA, RB, TWO, inPlaceLib, twoEntries } from './in-place-fixture.js';

const MAP = '/lib/config/goal_map.json';
const classify = libraryClassifier({ mapFile: MAP, componentsDir: '/lib/components', stateDir: '/lib/.jitd' });
const G = 'autogen_persona_for_diagnose_root_cause.txt';
const REPOINT = { goal: 'DIAGNOSE_ROOT_CAUSE', type: 'persona', from: 'sre.txt', to: G };
const BASE = { DIAGNOSE_ROOT_CAUSE: { protocol: 'rca.txt', persona: 'sre.txt' }, REVIEW: { protocol: 'review.txt' } };
const REPOINTED = { ...BASE, DIAGNOSE_ROOT_CAUSE: { protocol: 'rca.txt', persona: G } };
const text = (m: unknown) => `${JSON.stringify(m, null, 2)}\n`;
const personsMap = (n: number) => ({ ...BASE, REVIEW: { protocol: `review_v${n}.txt` } });

function lib(): MemFs {
  const fs = new MemFs();
  fs.writeFile(MAP, text(BASE));
  fs.checkpoint();
  return fs;
}
const read = (fs: MemFs) => JSON.parse(fs.read(MAP) as string);
const count = (steps: readonly string[], prefix: string) => steps.filter((s) => s.startsWith(prefix)).length;

describe('commitRepoints guards', () => {
  it("a save that lands just after the pre-publish re-read (same bytes read, new identity) restarts: the person's save is kept", async () => {
    const mem = lib();
    // read:map#1 is the first read; #2 is the re-read inside beforePublish, between its two lstats.
    const fs = faultFs(mem, { classify, hooks: { 'after:read:map#2': () => mem.writeFile(MAP, text(personsMap(2))) } });
    const result = await commitRepoints(fs, MAP, [REPOINT]);
    expect(result.restarts).toBe(1);
    expect(read(mem)).toEqual({ ...personsMap(2), DIAGNOSE_ROOT_CAUSE: REPOINTED.DIAGNOSE_ROOT_CAUSE });
  });

  it('a save that lands between the re-read and the rename is put back by the guarded publish, and jitd starts again on top of it', async () => {
    const mem = lib();
    const fs = faultFs(mem, { classify, hooks: { 'before:rename:map#1': () => mem.writeFile(MAP, text(personsMap(3))) } });
    const result = await commitRepoints(fs, MAP, [REPOINT]);
    expect(result.restarts).toBe(1);
    expect(read(mem)).toEqual({ ...personsMap(3), DIAGNOSE_ROOT_CAUSE: REPOINTED.DIAGNOSE_ROOT_CAUSE });
    expect(mem.walk('/lib/config')).toEqual([MAP]);
  });

  it('a person saving non-stop makes it give up after 20 restarts (21 attempts), their last save kept', async () => {
    const mem = lib();
    const hooks: Record<string, () => void> = {};
    for (let n = 1; n <= 40; n++) hooks[`after:write:map#${n}`] = () => mem.writeFile(MAP, text(personsMap(n)));
    const fs = faultFs(mem, { classify, hooks });
    await expect(commitRepoints(fs, MAP, [REPOINT])).rejects.toMatchObject({ code: 'EMAPRACE', message: 'the map changed while jitd was writing it' });
    expect(count(fs.steps, 'write:map#')).toBe(21);
    expect(read(mem)).toEqual(personsMap(21));
  });

  it('a disk error publishing the map surfaces at once: one rename, no retry', async () => {
    const mem = lib();
    const fs = faultFs(mem, { classify, faults: [{ at: 'rename:map#1', fault: { error: 'EIO' } }] });
    await expect(commitRepoints(fs, MAP, [REPOINT])).rejects.toBeInstanceOf(DiskWriteError);
    expect(count(fs.steps, 'rename:map#')).toBe(1);
    expect(count(fs.steps, 'open:map#')).toBe(1);
    expect(read(mem)).toEqual(BASE);
  });

  it('a failed fsync of the new map surfaces at once as FsyncFailedError: one attempt, nothing published', async () => {
    const mem = lib();
    const fs = faultFs(mem, { classify, faults: [{ at: 'fsync:map#1', fault: { error: 'EIO' } }] });
    await expect(commitRepoints(fs, MAP, [REPOINT])).rejects.toBeInstanceOf(FsyncFailedError);
    expect(count(fs.steps, 'fsync:map#')).toBe(1);
    expect(count(fs.steps, 'open:map#')).toBe(1);
    expect(read(mem)).toEqual(BASE);
  });

  it('a file deleted after the first presence check and before the rename is never named: the commit restarts and reports target-missing', async () => {
    const mem = lib();
    let asked = 0;
    const result = await commitRepoints(mem, MAP, [REPOINT], { present: async () => ++asked === 1 });
    expect(result.outcomes).toEqual(['target-missing']);
    expect(result.restarts).toBe(1);
    expect(asked).toBe(3);
    expect(read(mem)).toEqual(BASE);
  });

  it("keeps the map's permission bits (a group-writable map stays group-writable, umask notwithstanding)", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'jitd-map-mode-'));
    try {
      const map = join(dir, 'goal_map.json');
      await writeFile(map, text(BASE));
      await chmod(map, 0o660);
      const result = await commitRepoints(nodeFs, map, [REPOINT]);
      expect(result.outcomes).toEqual(['applied']);
      expect((await stat(map)).mode & 0o7777).toBe(0o660);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an entry that is no longer an object of types (null, a string, a list) is entry-changed, never a crash', async () => {
    const mem = new MemFs();
    mem.writeFile(MAP, text({ ...BASE, N: null, S: 'text', L: ['persona'] }));
    const repoint = (goal: string) => ({ goal, type: 'persona', from: 'x.txt', to: G });
    const result = await commitRepoints(mem, MAP, [repoint('N'), repoint('S'), repoint('L'), REPOINT]);
    expect(result.outcomes).toEqual(['entry-changed', 'entry-changed', 'entry-changed', 'applied']);
  });

  it("the second presence check asks only about the repoints being applied: another's file vanishing meanwhile restarts nothing", async () => {
    const mem = lib();
    const other = { goal: 'REVIEW', type: 'protocol', from: 'elsewhere.txt', to: 'autogen_protocol_for_review.txt' };
    let askedOther = 0;
    const result = await commitRepoints(mem, MAP, [REPOINT, other], { present: async (r) => r !== other || ++askedOther === 1 });
    expect(result).toMatchObject({ outcomes: ['applied', 'entry-changed'], restarts: 0 });
    expect(read(mem)).toEqual(REPOINTED);
  });

  it('a replaced version that could not be held open (EMFILE) does not fail the commit', async () => {
    const mem = lib();
    const layer = faultFs(mem, { classify });
    const fs = {
      ...layer,
      renameIfUnchanged: async (from: string, to: string, id: string) => ({ ...(await layer.renameIfUnchanged(from, to, id)), kept: undefined }),
    };
    const result = await commitRepoints(fs, MAP, [REPOINT]);
    expect(result.outcomes).toEqual(['applied']);
    expect(read(mem)).toEqual(REPOINTED);
  });
});

describe('commitRepoints and the in-place save watch (a fake clock: poll 10 ms, settle 30 ms)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('hands the watch only the repoints it applied: a save through an old descriptor writing back the old name of an entry jitd found changed is not repointed', async () => {
    const lib = inPlaceLib();
    twoEntries(lib.mem);
    const mine = TWO.replace('"b.txt"', '"mine.txt"');
    lib.mem.writeFile(WATCHED_MAP, mine); // the person had chosen B's file
    const editor = lib.mem.openInPlace(WATCHED_MAP);
    expect((await commitRepoints(lib.fs, WATCHED_MAP, [RA, RB])).outcomes).toEqual(['applied', 'entry-changed']);
    editor.save(TWO); // and now writes B's old name back, into the version jitd replaced
    await vi.advanceTimersByTimeAsync(40);
    await lib.idle();
    expect(lib.recovered).toMatchObject([{ outcome: 'reapplied', repoints: 1 }]);
    expect(lib.mem.read(WATCHED_MAP)).toBe(TWO.replace('"a.txt"', JSON.stringify(RA.to)));
    await lib.saves.stop();
  });
});
