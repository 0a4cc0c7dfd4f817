/**
 * In-place saves through a descriptor opened before jitd's map write (issue 11 item 2,
 * invariant 4): the version jitd replaced is kept open and watched; a save written into it is
 * re-applied as the map, with jitd's repoint on top, or — when the map was saved again
 * meanwhile — kept aside under the state directory, never lost. On the in-memory disk, with a
 * lane that runs each re-apply at once.
 */
import { describe, expect, it } from 'vitest';
import { commitRepoints } from '../../src/install/map-commit.js';
import { InPlaceSaves, type InPlaceOutcome } from '../../src/install/in-place-saves.js';
import { MemFs } from '../support/mem-fs.js';

const MAP = '/lib/config/goal_map.json';
const COMPONENTS = '/lib/components';
const STATE = '/lib/.jitd';
const G = 'autogen_persona_for_diagnose_root_cause.txt';
const REPOINT = { goal: 'DIAGNOSE_ROOT_CAUSE', type: 'persona', from: 'sre.txt', to: G };
const ORIGINAL = '{\r\n  "DIAGNOSE_ROOT_CAUSE": { "persona": "sre.txt" },\r\n  "REVIEW": { "protocol": "review.txt" }\r\n}\r\n';
/** The person's save: their new goal, the entry jitd repoints still naming the missing file. */
const PERSONS =
  '{\r\n  "DIAGNOSE_ROOT_CAUSE": { "persona": "sre.txt" },\r\n  "NEW_GOAL": { "format": "f.txt" },\r\n  "REVIEW": { "protocol": "review.txt" }\r\n}\r\n';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, fn: () => T | undefined | false, ms = 5000): Promise<T> {
  for (const end = Date.now() + ms; ; await sleep(10)) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
  }
}

function setup(graceMs = 2000) {
  const fs = new MemFs();
  fs.writeFile(MAP, ORIGINAL);
  fs.writeFile(`${COMPONENTS}/personas/${G}`, 'generated\n');
  fs.mkdirpSync(STATE, 0o700);
  fs.checkpoint();
  const recovered: InPlaceOutcome[] = [];
  let lane = Promise.resolve();
  const saves = new InPlaceSaves({
    fs,
    mapFile: MAP,
    componentsDir: COMPONENTS,
    stateDir: STATE,
    graceMs,
    pollMs: 10,
    settleMs: 30,
    schedule: (_what, job) => void (lane = lane.then(job)),
    onRecovered: (o) => recovered.push(o),
  });
  return { fs, saves, recovered };
}

describe('a save through a descriptor opened before jitd published the map', () => {
  it("is re-applied as the map, byte for byte, with jitd's repoint on top", async () => {
    const { fs, saves, recovered } = setup();
    const editor = fs.openInPlace(MAP);
    expect((await commitRepoints(fs, MAP, [REPOINT])).outcomes).toEqual(['applied']);
    expect(fs.read(MAP)).toBe(ORIGINAL.replace('"sre.txt"', JSON.stringify(G)));
    expect(saves.stats().watching).toBe(1);
    editor.save(PERSONS); // ftruncate + write on the inode jitd swapped out
    await waitFor('the re-apply', () => recovered.length > 0);
    expect(recovered[0]).toMatchObject({ outcome: 'reapplied', repoints: 1 });
    expect(fs.read(MAP)).toBe(PERSONS.replace('"sre.txt"', JSON.stringify(G)));
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
    expect(o).toMatchObject({ outcome: 'kept-aside' });
    const path = (o as { path: string }).path;
    expect(path.startsWith(`${STATE}/recovered/goal_map.json.`)).toBe(true);
    expect(fs.read(path)).toBe(PERSONS);
    expect(fs.read(MAP)).toBe(newer);
    expect(saves.stats()).toMatchObject({ keptAside: 1, reapplied: 0 });
    await saves.stop();
  });

  it("re-applies a save made into a version replaced twice, with both of jitd's repoints", async () => {
    const { fs, saves, recovered } = setup();
    fs.writeFile(MAP, '{"A":{"protocol":"a.txt"},"B":{"protocol":"b.txt"}}');
    fs.writeFile(`${COMPONENTS}/protocols/autogen_protocol_for_a.txt`, 'a\n');
    fs.writeFile(`${COMPONENTS}/protocols/autogen_protocol_for_b.txt`, 'b\n');
    const editor = fs.openInPlace(MAP);
    await commitRepoints(fs, MAP, [{ goal: 'A', type: 'protocol', from: 'a.txt', to: 'autogen_protocol_for_a.txt' }]);
    await commitRepoints(fs, MAP, [{ goal: 'B', type: 'protocol', from: 'b.txt', to: 'autogen_protocol_for_b.txt' }]);
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
    expect(fs.read(MAP)).toBe(PERSONS.replace('"sre.txt"', JSON.stringify(G)));
    const late = setup(100);
    await commitRepoints(late.fs, MAP, [REPOINT]);
    await waitFor('the grace to pass', () => late.saves.stats().watching === 0);
    expect(late.fs.keptOpen).toBe(0);
    await late.saves.stop();
  });
});
