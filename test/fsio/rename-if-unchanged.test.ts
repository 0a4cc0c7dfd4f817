/**
 * The map's publish step (invariant 4): `nodeFs.renameIfUnchanged` replaces the map only if it is
 * still the version the caller checked, and never destroys a version it did not expect — with
 * renameat2(RENAME_EXCHANGE) through the native helper, which must be built on Linux.
 */
import { mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exchangeSync } from '../../src/fsio/exchange.js';
import { nodeFs } from '../../src/fsio/node-fs.js';

let dir: string;
let map: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jitd-rename-'));
  map = join(dir, 'goal_map.json');
  await writeFile(map, 'base\n');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const identity = async (p: string) => (await nodeFs.lstat(p)).identity as string;

describe('renameIfUnchanged', () => {
  it.runIf(process.platform === 'linux')('has the renameat2(RENAME_EXCHANGE) helper built (npm install builds src/fsio/native)', () => {
    expect(exchangeSync, 'src/fsio/native/build/Release/exchange.node is missing: npm install needs make, g++ and python3').toBeTypeOf('function');
    const a = join(dir, 'a');
    expect(() => exchangeSync!(a, map)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  it('replaces the target that is still the version checked, and leaves no temp behind', async () => {
    const seen = await identity(map);
    const temp = join(dir, '.jitd-tmp.goal_map.json.aaaaaaaaaaaa');
    await writeFile(temp, 'ours\n');
    await nodeFs.renameIfUnchanged!(temp, map, seen);
    expect(await readFile(map, 'utf8')).toBe('ours\n');
    expect(await readdir(dir)).toEqual(['goal_map.json']);
  });

  it("keeps a person's save that landed after the check (ETARGETCHANGED), and jitd's version stays at its temp name", async () => {
    const seen = await identity(map);
    // The person saves editor-style after jitd's last check.
    await writeFile(join(dir, 'person.swp'), 'person\n');
    await rename(join(dir, 'person.swp'), map);
    const temp = join(dir, '.jitd-tmp.goal_map.json.bbbbbbbbbbbb');
    await writeFile(temp, 'ours\n');
    await expect(nodeFs.renameIfUnchanged!(temp, map, seen)).rejects.toMatchObject({ code: 'ETARGETCHANGED' });
    expect(await readFile(map, 'utf8')).toBe('person\n');
    expect(await readFile(temp, 'utf8')).toBe('ours\n');
  });

  it('notices an in-place write to the same file after the check', async () => {
    const seen = await identity(map);
    await new Promise((r) => setTimeout(r, 5)); // a later mtime, whatever the clock's grain
    await writeFile(map, 'edited in place\n');
    const temp = join(dir, '.jitd-tmp.goal_map.json.cccccccccccc');
    await writeFile(temp, 'ours\n');
    await expect(nodeFs.renameIfUnchanged!(temp, map, seen)).rejects.toMatchObject({ code: 'ETARGETCHANGED' });
    expect(await readFile(map, 'utf8')).toBe('edited in place\n');
  });
});

describe('renameIfUnchanged on a map deleted after the check', () => {
  it('does not recreate it: ETARGETCHANGED, and the commit starts again (and finds no map)', async () => {
    const dir2 = await mkdtemp(join(tmpdir(), 'jitd-rename-'));
    try {
      const m = join(dir2, 'goal_map.json');
      await writeFile(m, 'base\n');
      const seen = (await nodeFs.lstat(m)).identity as string;
      await rm(m);
      const temp = join(dir2, '.jitd-tmp.goal_map.json.dddddddddddd');
      await writeFile(temp, 'ours\n');
      await expect(nodeFs.renameIfUnchanged!(temp, m, seen)).rejects.toMatchObject({ code: 'ETARGETCHANGED' });
      expect(await readdir(dir2)).toEqual(['.jitd-tmp.goal_map.json.dddddddddddd']);
    } finally {
      await rm(dir2, { recursive: true, force: true });
    }
  });
});

describe('guardedRename (the fallback without the exchange helper)', () => {
  it('renames over a target that is still the version checked, and refuses one that changed', async () => {
    const { guardedRename } = await import('../../src/fsio/node-fs.js');
    const dir3 = await mkdtemp(join(tmpdir(), 'jitd-rename-'));
    try {
      const m = join(dir3, 'goal_map.json');
      await writeFile(m, 'base\n');
      const t1 = join(dir3, '.jitd-tmp.goal_map.json.eeeeeeeeeeee');
      await writeFile(t1, 'ours\n');
      guardedRename(t1, m, (await nodeFs.lstat(m)).identity as string);
      expect(await readFile(m, 'utf8')).toBe('ours\n');

      const seen = (await nodeFs.lstat(m)).identity as string;
      await writeFile(join(dir3, 'p.swp'), 'person\n');
      await rename(join(dir3, 'p.swp'), m);
      const t2 = join(dir3, '.jitd-tmp.goal_map.json.ffffffffffff');
      await writeFile(t2, 'ours again\n');
      expect(() => guardedRename(t2, m, seen)).toThrow(expect.objectContaining({ code: 'ETARGETCHANGED' }));
      expect(await readFile(m, 'utf8')).toBe('person\n');
    } finally {
      await rm(dir3, { recursive: true, force: true });
    }
  });
});

describe('renameIfUnchanged keeps the version it replaced open', () => {
  it('a write through a descriptor opened before the publish is seen through the kept version (exchange and guarded rename alike)', async () => {
    const { guardedRename } = await import('../../src/fsio/node-fs.js');
    const { open } = await import('node:fs/promises');
    for (const how of ['exchange', 'guarded'] as const) {
      await writeFile(map, 'base\n');
      const editor = await open(map, 'r+');
      const temp = join(dir, `.jitd-tmp.goal_map.json.${how}00000000`);
      await writeFile(temp, 'ours\n');
      const seen = await identity(map);
      const r = how === 'exchange' ? await nodeFs.renameIfUnchanged(temp, map, seen) : guardedRename(temp, map, seen);
      expect(r.published).toBe(await identity(map));
      expect((await r.kept!.read()).toString()).toBe('base\n');
      const before = await r.kept!.identity();
      expect(before).toBe(seen);
      await editor.truncate(0);
      await editor.write(Buffer.from('saved in place\n'), 0, 15, 0);
      await editor.close();
      expect(await r.kept!.identity()).not.toBe(before);
      expect((await r.kept!.read()).toString()).toBe('saved in place\n');
      expect((await r.kept!.read()).toString()).toBe('saved in place\n');
      expect(await readFile(map, 'utf8')).toBe('ours\n');
      expect(await readdir(dir)).toEqual(['goal_map.json']);
      await r.kept!.close();
    }
  });
});
