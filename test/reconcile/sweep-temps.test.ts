/**
 * The temp sweep and the stale seed temp (invariants 2 and 4), alone: only jitd's temps go, each
 * swept directory is fsynced once and only if something left it, a file that vanished meanwhile
 * is tolerated and any other error is not; a seed-style `goal_map.json.tmp` is quarantined only
 * once it has stood unmodified for the whole staleness delay. Found by mutation testing
 * (docs/mutation-testing.md).
 */
import { describe, expect, it } from 'vitest';
import { liveTemps } from '../../src/fsio/temp-files.js';
import { quarantineStaleSeedTemp, SEED_TEMP_STALE_MS, sweepTemps } from '../../src/reconcile/sweep-temps.js';
import { faultFs, libraryClassifier } from '../support/fault-fs.js';
import { MemFs } from '../support/mem-fs.js';

const DIR = '/lib/config';
const OTHER = '/lib/components/personas';
const TEMP = `${DIR}/.jitd-tmp.goal_map.json.0123456789ab`;
const MAP = `${DIR}/goal_map.json`;
const SEED_TEMP = `${MAP}.tmp`;
const STATE = '/lib/.jitd';
const classify = libraryClassifier({ mapFile: MAP, componentsDir: '/lib/components', stateDir: STATE });

function lib(): MemFs {
  const fs = new MemFs();
  fs.writeFile(MAP, '{}\n');
  fs.writeFile(TEMP, 'half');
  fs.writeFile(`${DIR}/jitd-tmp.not-ours`, 'theirs');
  fs.writeFile(`${DIR}/notes.jitd-tmp.txt`, 'theirs');
  fs.mkdirpSync(OTHER);
  fs.writeFile(`${OTHER}/a.txt`, 'a\n');
  fs.mkdirpSync(STATE);
  fs.checkpoint();
  return fs;
}

describe('sweepTemps', () => {
  it("removes only jitd's temps, once per directory however often it is named, and fsyncs only the directory it changed", async () => {
    const mem = lib();
    const fs = faultFs(mem);
    expect(await sweepTemps(fs, [DIR, OTHER, DIR, '/lib/nowhere'])).toEqual([TEMP]);
    expect(mem.walk(DIR).sort()).toEqual([`${DIR}/goal_map.json`, `${DIR}/jitd-tmp.not-ours`, `${DIR}/notes.jitd-tmp.txt`]);
    expect(fs.steps.filter((s) => /^(unlink|fsyncdir):/.test(s))).toEqual(['unlink:goal_map.json#1', 'fsyncdir:config#1']);
  });

  it('spares a temp this process is writing and a directory that only has a temp-like name', async () => {
    const mem = lib();
    const live = `${DIR}/.jitd-tmp.live.0123456789ab`;
    mem.writeFile(live, 'in flight');
    mem.mkdirpSync(`${DIR}/.jitd-tmp.dir`);
    liveTemps.add(live);
    try {
      expect(await sweepTemps(mem, [DIR])).toEqual([TEMP]);
      expect(mem.exists(live)).toBe(true);
      expect(mem.exists(`${DIR}/.jitd-tmp.dir`)).toBe(true);
    } finally {
      liveTemps.delete(live);
    }
  });

  it('a temp that vanished meanwhile (ENOENT) is tolerated: not reported, nothing fsynced', async () => {
    const fs = faultFs(lib(), { faults: [{ at: 'unlink:goal_map.json#1', fault: { error: 'ENOENT' } }] });
    expect(await sweepTemps(fs, [DIR])).toEqual([]);
    expect(fs.steps.filter((s) => s.startsWith('fsyncdir:'))).toEqual([]);
  });

  it('any other error removing a temp surfaces', async () => {
    const fs = faultFs(lib(), { faults: [{ at: 'unlink:goal_map.json#1', fault: { error: 'EIO' } }] });
    await expect(sweepTemps(fs, [DIR])).rejects.toMatchObject({ code: 'EIO' });
  });
});

describe('quarantineStaleSeedTemp', () => {
  async function seedTemp(): Promise<{ mem: MemFs; mtime: number }> {
    const mem = lib();
    mem.writeFile(SEED_TEMP, '{"half": ');
    mem.checkpoint();
    return { mem, mtime: (await mem.lstat(SEED_TEMP)).mtimeMs };
  }

  it('is stale exactly when it has stood unmodified for the whole delay (the default ten minutes), not a millisecond before', async () => {
    expect(SEED_TEMP_STALE_MS).toBe(10 * 60 * 1000);
    const { mem, mtime } = await seedTemp();
    expect(await quarantineStaleSeedTemp(mem, MAP, { stateDir: STATE, now: mtime + SEED_TEMP_STALE_MS - 1 })).toBeUndefined();
    expect(await quarantineStaleSeedTemp(mem, MAP, { stateDir: STATE, staleMs: 5, now: mtime + 4 })).toBeUndefined();
    expect(mem.read(SEED_TEMP)).toBe('{"half": ');
    const moved = await quarantineStaleSeedTemp(mem, MAP, { stateDir: STATE, now: mtime + SEED_TEMP_STALE_MS });
    expect(moved).toMatch(new RegExp(`^${STATE}/quarantine/temps/\\d{8}T\\d{6}Z-goal_map\\.json\\.tmp$`));
    expect(mem.read(moved as string)).toBe('{"half": ');
    expect(JSON.parse(mem.read(`${moved}.origin.json`) as string)).toMatchObject({
      from: SEED_TEMP,
      reason: "seed-style map temp file left unmodified (a crashed run's leftover)",
    });
    expect(mem.exists(SEED_TEMP)).toBe(false);
  });

  it('a file "from the future" (a clock set back) is not stale', async () => {
    const { mem, mtime } = await seedTemp();
    expect(await quarantineStaleSeedTemp(mem, MAP, { stateDir: STATE, staleMs: 0, now: mtime - 1 })).toBeUndefined();
    expect(mem.exists(SEED_TEMP)).toBe(true);
  });

  it('only a regular file is taken: a directory or a symlink of that name is left alone', async () => {
    const mem = lib();
    mem.mkdirpSync(SEED_TEMP);
    expect(await quarantineStaleSeedTemp(mem, MAP, { stateDir: STATE, staleMs: 0, now: 1e12 })).toBeUndefined();
    const linked = lib();
    linked.symlink('goal_map.json', SEED_TEMP);
    expect(await quarantineStaleSeedTemp(linked, MAP, { stateDir: STATE, staleMs: 0, now: 1e12 })).toBeUndefined();
    expect(linked.exists(SEED_TEMP)).toBe(true);
    expect(await quarantineStaleSeedTemp(lib(), MAP, { stateDir: STATE, staleMs: 0, now: 1e12 })).toBeUndefined();
  });

  it('renamed into place meanwhile (ENOENT on the link) it was in use: nothing moved, nothing reported', async () => {
    const { mem } = await seedTemp();
    // link:quarantine#1 publishes the origin record; #2 is the link of the temp itself.
    const fs = faultFs(mem, { classify, faults: [{ at: 'link:quarantine#2', fault: { error: 'ENOENT' } }] });
    expect(await quarantineStaleSeedTemp(fs, MAP, { stateDir: STATE, staleMs: 0, now: 1e12 })).toBeUndefined();
  });

  it('any other error moving it surfaces, and the file stays', async () => {
    const { mem } = await seedTemp();
    // link:quarantine#1 publishes the origin record; #2 is the link of the temp itself.
    const fs = faultFs(mem, { classify, faults: [{ at: 'link:quarantine#2', fault: { error: 'EIO' } }] });
    await expect(quarantineStaleSeedTemp(fs, MAP, { stateDir: STATE, staleMs: 0, now: 1e12 })).rejects.toMatchObject({ code: 'EIO' });
    expect(mem.read(SEED_TEMP)).toBe('{"half": ');
  });
});
