/**
 * jitd recognises its own writes (install/map-state.ts). Its own map write by content (issue
 * 11, P7): the watcher's event for the map an install just wrote sets off no full re-plan of
 * every entry; a person's save, or a hint that something else changed (a component, a retry
 * falling due), still plans in full. Its own component writes by the note made before each:
 * their events set off no sync at all.
 */
import { describe, expect, it } from 'vitest';
import { ANSWER, GENERATED_PATH, MAP_FILE, countingProvider, engineOn, makeMemLibrary } from './mem-library.js';

describe("the map hint after jitd's own write", () => {
  it("plans nothing for the install's own write, and plans again for a person's save or a forced hint", async () => {
    const fs = makeMemLibrary();
    const engine = engineOn(fs, countingProvider());
    await engine.start();
    const [r] = engine.store.all();
    await engine.answer(r!.id, ANSWER);
    await engine.idle();
    expect(fs.exists(GENERATED_PATH)).toBe(true);
    const before = engine.counts().mapSyncs;
    await engine.onMapHint(); // the watcher's event for the install's map write
    expect(engine.counts().mapSyncs).toEqual({ planned: before.planned, ownWriteSkipped: before.ownWriteSkipped + 1 });
    await engine.onMapHint(true); // a component changed meanwhile: the same bytes are planned again
    expect(engine.counts().mapSyncs.planned).toBe(before.planned + 1);
    fs.writeFile(MAP_FILE, `${fs.read(MAP_FILE)!.trimEnd()}  \n`); // a person's save (same entries)
    await engine.onMapHint();
    expect(engine.counts().mapSyncs.planned).toBe(before.planned + 2);
    await engine.stop();
  });
});

describe("a component event for jitd's own write", () => {
  it('sets off no sync when jitd noted the write, and a full one for the same event un-noted', async () => {
    const fs = makeMemLibrary();
    const engine = engineOn(fs, countingProvider());
    await engine.start();
    const orphan = 'autogen_persona_for_gone.txt'; // a generated name: its event takes the full sync
    engine.index.add('personas', orphan);
    const before = engine.counts().mapSyncs.planned;
    engine.mapState.noteComponent('personas', orphan, false); // as the orphan pass does before moving it
    await engine.onComponentHint('personas', orphan, false);
    await engine.idle();
    expect(engine.counts().mapSyncs.planned).toBe(before);
    expect(engine.index.has('persona', orphan)).toBe(false);
    engine.index.add('personas', orphan);
    await engine.onComponentHint('personas', orphan, false); // a person removed it
    await engine.idle();
    expect(engine.counts().mapSyncs.planned).toBe(before + 1);
    await engine.stop();
  });
});
