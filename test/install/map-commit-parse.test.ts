/**
 * What the map commit hands `beforeWrite` (the daemon keeps it as its parse of the map, so the
 * watcher recognises jitd's own write without parsing it again): the bytes about to be written,
 * a parse equal to parsing those bytes, and the bytes they were made from. The parse of a large
 * map costs ~200 ms, so it is reused (repointed in place) rather than made again when the map on
 * disk is still the snapshot's, and made again when it is not. Found by mutation testing
 * (docs/mutation-testing.md); `parseGoalMap` is counted through a module mock.
 */
import { describe, expect, it, vi } from 'vitest';
import * as goalMap from '../../src/library/goal-map.js';
import { commitRepoints, type Repoint } from '../../src/install/map-commit.js';
import { readMap } from '../../src/install/map-file.js';
import { faultFs, libraryClassifier } from '../support/fault-fs.js';
import { MemFs } from '../support/mem-fs.js';

vi.mock(import('../../src/library/goal-map.js'), async (importOriginal) => {
  const real = await importOriginal();
  return { ...real, parseGoalMap: vi.fn(real.parseGoalMap) };
});
const parses = vi.mocked(goalMap.parseGoalMap);
const parseGoalMap = (bytes: string) => goalMap.parseGoalMap(bytes);

const MAP = '/lib/config/goal_map.json';
const classify = libraryClassifier({ mapFile: MAP, componentsDir: '/lib/components', stateDir: '/lib/.jitd' });
const GA = 'autogen_persona_for_a.txt';
const GB = 'autogen_persona_for_b.txt';
const BASE = { A: { persona: 'a.txt', protocol: 'pa.txt' }, B: { persona: 'b.txt' }, C: { persona: GA }, D: 'not an entry' };
const text = (m: unknown) => `${JSON.stringify(m, null, 2)}\n`;
const toA: Repoint = { goal: 'A', type: 'persona', from: 'a.txt', to: GA };
const toB: Repoint = { goal: 'B', type: 'persona', from: 'b.txt', to: GB };

function lib(map: unknown = BASE): MemFs {
  const fs = new MemFs();
  fs.writeFile(MAP, text(map));
  fs.checkpoint();
  return fs;
}

/** Commits `repoints` and answers what `beforeWrite` was handed (its parse as plain data). */
async function commitHeard(fs: MemFs | ReturnType<typeof faultFs>, repoints: Repoint[], snapshot?: Awaited<ReturnType<typeof readMap>>) {
  const heard: { bytes: string; parsed: goalMap.ParsedMap; base: string }[] = [];
  parses.mockClear();
  const result = await commitRepoints(fs, MAP, repoints, {
    ...(snapshot ? { snapshot } : {}),
    beforeWrite: (bytes, parsed, base) => heard.push({ bytes: bytes.toString(), parsed: structuredClone(parsed), base: base.toString() }),
  });
  return { result, heard, parsesDuringCommit: parses.mock.calls.length };
}

describe('commitRepoints: what beforeWrite is handed', () => {
  it('with a snapshot still current: the repointed parse, equal to parsing the bytes written, made without parsing again', async () => {
    const mem = lib();
    const snapshot = await readMap(mem, MAP);
    const { result, heard, parsesDuringCommit } = await commitHeard(mem, [toA, toB], snapshot);
    expect(result.outcomes).toEqual(['applied', 'applied']);
    expect(heard).toHaveLength(1);
    const [{ bytes, parsed, base }] = heard as [(typeof heard)[0]];
    expect(bytes).toBe(mem.read(MAP));
    expect(base).toBe(text(BASE));
    expect(parsed).toEqual(parseGoalMap(bytes));
    expect(parsesDuringCommit).toBe(0);
  });

  it('only the repoints applied change the parse: one already done and one whose entry changed leave theirs as they are', async () => {
    const mem = lib();
    const snapshot = await readMap(mem, MAP);
    const already: Repoint = { goal: 'C', type: 'persona', from: 'c.txt', to: GA };
    const changed: Repoint = { goal: 'A', type: 'protocol', from: 'other.txt', to: 'autogen_protocol_for_a.txt' };
    const { result, heard } = await commitHeard(mem, [already, changed, toB], snapshot);
    expect(result.outcomes).toEqual(['already', 'entry-changed', 'applied']);
    const [{ bytes, parsed }] = heard as [(typeof heard)[0]];
    expect(parsed).toEqual(parseGoalMap(bytes));
    expect(JSON.parse(bytes)).toEqual({ ...BASE, B: { persona: GB } });
  });

  it('a repoint to a name that is no valid file name is parsed again, so the parse reports it as a problem', async () => {
    const mem = lib();
    const snapshot = await readMap(mem, MAP);
    const bad: Repoint = { goal: 'A', type: 'persona', from: 'a.txt', to: 'sub/dir.txt' };
    const { heard, parsesDuringCommit } = await commitHeard(mem, [toB, bad], snapshot);
    const [{ bytes, parsed }] = heard as [(typeof heard)[0]];
    expect(parsed).toEqual(parseGoalMap(bytes));
    expect(parsed.problems.length).toBe(snapshot.map.problems.length + 1);
    expect(parsesDuringCommit).toBe(1);
  });

  it('a snapshot the map no longer matches is not used: the map on disk is parsed and repointed', async () => {
    const mem = lib();
    const snapshot = await readMap(mem, MAP);
    const now = { ...BASE, E: { persona: 'e.txt' } };
    mem.writeFile(MAP, text(now));
    const { heard } = await commitHeard(mem, [toA], snapshot);
    const [{ bytes, parsed, base }] = heard as [(typeof heard)[0]];
    expect(base).toBe(text(now));
    expect(parsed).toEqual(parseGoalMap(bytes));
    expect(JSON.parse(bytes)).toEqual({ ...now, A: { ...BASE.A, persona: GA } });
  });

  it('after a restart the snapshot (already repointed in place) is not reused even when the person saved the very same bytes: the repoint is still applied', async () => {
    const mem = lib();
    const snapshot = await readMap(mem, MAP);
    // read:map#2 is the re-read before the publish: a save of the same bytes there changes only the identity.
    const fs = faultFs(mem, { classify, hooks: { 'after:read:map#2': () => mem.writeFile(MAP, text(BASE)) } });
    const { result, heard } = await commitHeard(fs, [toA], snapshot);
    expect(result).toMatchObject({ outcomes: ['applied'], restarts: 1 });
    expect(JSON.parse(mem.read(MAP) as string)).toEqual({ ...BASE, A: { ...BASE.A, persona: GA } });
    expect(heard).toHaveLength(2);
    for (const { bytes, parsed, base } of heard) {
      expect(base).toBe(text(BASE));
      expect(parsed).toEqual(parseGoalMap(bytes));
    }
  });
});

describe('commitRepoints: when the parse must be made again', () => {
  it('a repoint from a name that was no valid file name makes a new entry appear: the map is parsed again', async () => {
    const mem = lib({ ...BASE, A: { persona: 'sub/a.txt' } });
    const snapshot = await readMap(mem, MAP);
    const { result, heard, parsesDuringCommit } = await commitHeard(mem, [{ goal: 'A', type: 'persona', from: 'sub/a.txt', to: GA }], snapshot);
    expect(result.outcomes).toEqual(['applied']);
    const [{ bytes, parsed }] = heard as [(typeof heard)[0]];
    expect(parsed).toEqual(parseGoalMap(bytes));
    expect(parsed.entries).toContainEqual({ goal: 'A', type: 'persona', filename: GA });
    expect(parsesDuringCommit).toBe(1);
  });

  it('one invalid name among the repoints of a goal is enough to parse again', async () => {
    const mem = lib();
    const snapshot = await readMap(mem, MAP);
    const bad: Repoint = { goal: 'A', type: 'protocol', from: 'pa.txt', to: 'sub/p.txt' };
    const { heard, parsesDuringCommit } = await commitHeard(mem, [toA, bad], snapshot);
    const [{ bytes, parsed }] = heard as [(typeof heard)[0]];
    expect(parsed).toEqual(parseGoalMap(bytes));
    expect(parsesDuringCommit).toBe(1);
  });
});
