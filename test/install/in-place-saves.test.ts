/**
 * In-place saves through a descriptor opened before jitd's map write (issue 11 item 2,
 * invariant 4): the version jitd replaced is kept open and watched; a save written into it is
 * re-applied as the map, with jitd's repoint on top, or — when the map was saved again
 * meanwhile — kept aside under the state directory, never lost. On the in-memory disk, with a
 * lane that runs each re-apply at once.
 */
import { describe, expect, it } from 'vitest';
import { commitRepoints } from '../../src/install/map-commit.js';
import { MAP, ORIGINAL, PERSONS, RA, RB, REPOINT, STATE, inPlaceLib, repointed, twoEntries } from './in-place-fixture.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, fn: () => T | undefined | false, ms = 5000): Promise<T> {
  for (const end = Date.now() + ms; ; await sleep(10)) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
  }
}

const setup = (graceMs = 2000) => {
  const { mem: fs, saves, recovered } = inPlaceLib({ graceMs });
  return { fs, saves, recovered };
};

describe('a save through a descriptor opened before jitd published the map', () => {
  it("is re-applied as the map, byte for byte, with jitd's repoint on top", async () => {
    const { fs, saves, recovered } = setup();
    const editor = fs.openInPlace(MAP);
    expect((await commitRepoints(fs, MAP, [REPOINT])).outcomes).toEqual(['applied']);
    expect(fs.read(MAP)).toBe(repointed(ORIGINAL));
    expect(saves.stats().watching).toBe(1);
    editor.save(PERSONS); // ftruncate + write on the inode jitd swapped out
    await waitFor('the re-apply', () => recovered.length > 0);
    expect(recovered[0]).toMatchObject({ outcome: 'reapplied', repoints: 1 });
    expect(fs.read(MAP)).toBe(repointed(PERSONS));
    expect(saves.stats()).toMatchObject({ detected: 1, reapplied: 1, keptAside: 0 });
    await saves.stop();
    expect(fs.keptOpen).toBe(0);
  });

  it("leaves the person's own choice for the entry alone (no repoint where it no longer names the missing file)", async () => {
    const { fs, saves, recovered } = setup();
    const editor = fs.openInPlace(MAP);
    await commitRepoints(fs, MAP, [REPOINT]);
    const mine = PERSONS.replace('"sre.txt"', '"my_own.txt"');
    editor.save(mine);
    await waitFor('the re-apply', () => recovered.length > 0);
    expect(recovered[0]).toMatchObject({ outcome: 'reapplied', repoints: 0 });
    expect(fs.read(MAP)).toBe(mine);
    await saves.stop();
  });

  it('is kept aside under the state directory, and the newer save on the path kept, when the map was saved again meanwhile', async () => {
    const { fs, saves, recovered } = setup();
    const editor = fs.openInPlace(MAP);
    await commitRepoints(fs, MAP, [REPOINT]);
    const newer = '{"SOMEONE_ELSE": {"protocol": "x.txt"}}\n';
    fs.writeFile(`${MAP}.swp`, newer);
    await fs.rename(`${MAP}.swp`, MAP);
    editor.save(PERSONS);
    const [o] = await waitFor('the recovery', () => (recovered.length ? recovered : undefined));
    expect(o).toMatchObject({ outcome: 'kept-aside', reason: 'the map was saved again meanwhile; that newer save is kept' });
    const path = (o as { path: string }).path;
    expect(path.startsWith(`${STATE}/recovered/goal_map.json.`)).toBe(true);
    expect(fs.read(path)).toBe(PERSONS);
    expect(fs.read(MAP)).toBe(newer);
    expect(saves.stats()).toMatchObject({ keptAside: 1, reapplied: 0 });
    await saves.stop();
  });

  it("re-applies a save made into a version replaced twice, with both of jitd's repoints", async () => {
    const { fs, saves, recovered } = setup();
    twoEntries(fs);
    const editor = fs.openInPlace(MAP);
    await commitRepoints(fs, MAP, [RA]);
    await commitRepoints(fs, MAP, [RB]);
    editor.save('{"A":{"protocol":"a.txt"},"C":{"protocol":"c.txt"},"B":{"protocol":"b.txt"}}');
    await waitFor('the re-apply', () => recovered.length > 0);
    expect(fs.read(MAP)).toBe('{"A":{"protocol":"autogen_protocol_for_a.txt"},"C":{"protocol":"c.txt"},"B":{"protocol":"autogen_protocol_for_b.txt"}}');
    await saves.stop();
  });

  it('is re-applied when the daemon stops before the next poll, and after the grace the kept version is let go', async () => {
    const { fs, saves, recovered } = setup(100);
    const editor = fs.openInPlace(MAP);
    await commitRepoints(fs, MAP, [REPOINT]);
    editor.save(PERSONS);
    await saves.stop();
    expect(recovered).toMatchObject([{ outcome: 'reapplied' }]);
    expect(fs.read(MAP)).toBe(repointed(PERSONS));
    const late = setup(100);
    await commitRepoints(late.fs, MAP, [REPOINT]);
    await waitFor('the grace to pass', () => late.saves.stats().watching === 0);
    expect(late.fs.keptOpen).toBe(0);
    await late.saves.stop();
  });
});
