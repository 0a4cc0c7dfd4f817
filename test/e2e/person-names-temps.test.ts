/**
 * A person's names and temp files are theirs (invariant 4), through the built jitd and jitctl on a
 * real library: a new name (or a typo) for an installed entry is never "corrected" back to the
 * generated file but gets its own request; `jq … > goal_map.json.tmp && mv …` works while jitd
 * reconciles; a stale seed-era temp is quarantined, not deleted.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, rename, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { generatedName } from '../../src/library/names.js';
import { jitctl } from '../support/daemon-process.js';
import { type TempLibrary } from '../support/library-fixture.js';
import { testLibrary, testDaemon } from '../support/per-test.js';

const sh = promisify(execFile);
let lib: TempLibrary | undefined;

const GX = generatedName('X', 'protocol');
const ctl = (args: string[]) => jitctl(['--socket', lib!.socketPath, ...args]);

interface View {
  id: string;
  goal: string;
  type: string;
  filename: string;
  generatedName: string;
  state: string;
}
async function requests(states = 'waiting'): Promise<View[]> {
  expect((await ctl(['status', '--sync'])).code).toBe(0);
  const r = await ctl(['pending', '--state', states, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

/** A person's editor save: the whole map written to a temp file and renamed over it. */
async function save(map: unknown): Promise<string> {
  const text = `${JSON.stringify(map, null, 2)}\n`;
  await writeFile(`${lib!.mapFile}.swp`, text);
  await rename(`${lib!.mapFile}.swp`, lib!.mapFile);
  return text;
}

/** X.protocol = x_missing.txt, answered and installed: the map names the generated file. */
async function installedX() {
  lib = await testLibrary({ map: { X: { protocol: 'x_missing.txt' }, REVIEW: { protocol: 'review.txt' } } });
  await testDaemon(lib.configFile, lib.socketPath);
  const [r] = await requests();
  expect(r).toMatchObject({ goal: 'X', filename: 'x_missing.txt' });
  expect((await ctl(['answer', r!.id, 'Steps to handle X'])).code).toBe(0);
  await requests();
  expect(JSON.parse(await readFile(lib.mapFile, 'utf8')).X.protocol).toBe(GX);
}

describe("a person's new name for an entry is theirs", () => {
  for (const [what, name] of [
    ['a new name, its file not written yet', 'x_by_hand.txt'],
    ['a typo', 'x_mising.txt'],
  ] as const) {
    it(`${what}: jitd opens a request for exactly that name and leaves the map as saved`, async () => {
      await installedX();
      const saved = await save({ X: { protocol: name }, REVIEW: { protocol: 'review.txt' } });
      const waiting = await requests();
      expect(waiting.map((r) => [r.goal, r.type, r.filename])).toEqual([['X', 'protocol', name]]);
      // A full reconcile (the periodic rescan, SIGHUP) does not "correct" it either.
      expect((await ctl(['reconcile'])).code).toBe(0);
      await requests();
      expect(await readFile(lib!.mapFile, 'utf8')).toBe(saved);
      // The component generated for the old name is referenced by nothing now: the reconcile moved
      // it to quarantine (orphans: quarantine), whole, with where it came from.
      const qdir = join(lib!.stateDir, 'quarantine', 'components');
      const [q] = (await readdir(qdir)).filter((n) => n.endsWith(`-protocols-${GX}`));
      expect(await readFile(join(qdir, q!), 'utf8')).toContain('Steps to handle X');
      // Answered, the new name gets a component of its own (never the old one adopted under it).
      expect((await ctl(['answer', waiting[0]!.id, 'Something else for X'])).code).toBe(0);
      await requests();
      const now = JSON.parse(await readFile(lib!.mapFile, 'utf8')).X.protocol as string;
      expect(now).toBe(waiting[0]!.generatedName);
      expect(now).not.toBe(GX);
      expect(await readFile(join(lib!.componentsDir, 'protocols', now), 'utf8')).toContain('Something else for X');
    });
  }

  it('the person writing the file under the new name resolves that request; nothing is generated', async () => {
    await installedX();
    const saved = await save({ X: { protocol: 'x_by_hand.txt' }, REVIEW: { protocol: 'review.txt' } });
    expect((await requests()).map((r) => r.filename)).toEqual(['x_by_hand.txt']);
    await writeFile(join(lib!.componentsDir, 'protocols', 'x_by_hand.txt'), 'Written by hand.\n');
    expect(await requests()).toEqual([]);
    expect(await readFile(lib!.mapFile, 'utf8')).toBe(saved);
  });

  it('a save that brings back the very name the component was generated for is rolled forward, asking nobody', async () => {
    await installedX();
    await save({ X: { protocol: 'x_missing.txt' }, REVIEW: { protocol: 'review.txt' } });
    expect(await requests()).toEqual([]);
    expect(JSON.parse(await readFile(lib!.mapFile, 'utf8')).X.protocol).toBe(GX);
  });
});

describe("a person's map temp file is theirs", () => {
  const tmp = () => `${lib!.mapFile}.tmp`;

  it('`jq … > goal_map.json.tmp`, then `jitctl reconcile`, then `mv`: the temp survives and the mv lands the edit', async () => {
    lib = await testLibrary();
    await testDaemon(lib.configFile, lib.socketPath);
    await requests();
    await sh('sh', ['-c', `jq '.NEW = {"protocol": "review.txt"}' "$1" > "$1.tmp"`, 'sh', lib.mapFile]);
    const r = await ctl(['reconcile']);
    expect(r.code, r.stderr).toBe(0);
    expect((await stat(tmp())).isFile()).toBe(true);
    await sh('mv', [tmp(), lib.mapFile]);
    await requests();
    expect(JSON.parse(await readFile(lib.mapFile, 'utf8')).NEW).toEqual({ protocol: 'review.txt' });
  });

  it('the idiom in a loop racing repeated `jitctl reconcile`: every mv succeeds and the last edit is the map', async () => {
    lib = await testLibrary();
    await testDaemon(lib.configFile, lib.socketPath);
    await requests();
    const rounds = 25;
    let stop = false;
    const reconciles = (async () => {
      let n = 0;
      while (!stop) {
        expect((await ctl(['reconcile'])).code).toBe(0);
        n++;
      }
      return n;
    })();
    const script = `set -e; for i in $(seq 1 ${rounds}); do jq --arg i "$i" '.COUNTER = {"protocol": "review.txt", "round": $i}' "$1" > "$1.tmp" && mv "$1.tmp" "$1"; done`;
    try {
      await sh('sh', ['-c', script, 'sh', lib.mapFile]);
    } finally {
      stop = true;
    }
    expect(await reconciles).toBeGreaterThan(0);
    expect(JSON.parse(await readFile(lib.mapFile, 'utf8')).COUNTER).toEqual({ protocol: 'review.txt', round: String(rounds) });
  });

  it('a stale one (unmodified for an hour, as a crashed seed-era run leaves it) is moved to quarantine with its origin, not deleted', async () => {
    lib = await testLibrary();
    await testDaemon(lib.configFile, lib.socketPath);
    await requests();
    await writeFile(tmp(), '{"half": ');
    const hourAgo = new Date(Date.now() - 3600_000);
    await utimes(tmp(), hourAgo, hourAgo);
    const r = await ctl(['reconcile', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const qdir = join(lib.stateDir, 'quarantine', 'temps');
    const moved = (await readdir(qdir)).filter((n) => !n.endsWith('.origin.json'));
    expect(moved).toHaveLength(1);
    expect(await readFile(join(qdir, moved[0]!), 'utf8')).toBe('{"half": ');
    expect(JSON.parse(await readFile(join(qdir, `${moved[0]}.origin.json`), 'utf8'))).toMatchObject({ from: tmp() });
    await expect(stat(tmp())).rejects.toThrow(/ENOENT/);
  });
});
