/**
 * Reading the map's bytes (install/map-file.ts): only a regular file of sane size is read; a
 * missing map, a directory, a symlink, a FIFO (a real one, which a plain read would block on
 * forever) and an oversized file are typed errors; a file that vanishes between the lstat and the
 * read is a missing map, and any other disk error surfaces as itself. Read-if-changed reuses a
 * known parse (the same object) exactly when the bytes are the ones it was made from.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_MAP_BYTES, MapUnavailableError, mapHash, readMap, readMapBytes, readMapIfChanged } from '../../src/install/map-file.js';
import { nodeFs } from '../../src/fsio/node-fs.js';
import { MapParseError } from '../../src/library/goal-map.js';
import { faultFs, libraryClassifier } from '../support/fault-fs.js';
import { MemFs } from '../support/mem-fs.js';

const MAP = '/lib/config/goal_map.json';
const TEXT = `${JSON.stringify({ REVIEW: { protocol: 'review.txt' } })}\n`;
const OTHER = `${JSON.stringify({ REVIEW: { protocol: 'mine.txt' } })}\n`;
const classify = libraryClassifier({ mapFile: MAP, componentsDir: '/lib/components', stateDir: '/lib/.jitd' });

function disk(text: string | Buffer = TEXT): MemFs {
  const fs = new MemFs();
  fs.writeFile(MAP, text);
  return fs;
}

/** The error a promise rejects with. */
async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

let root: string | undefined;
afterEach(async () => {
  if (root) await rm(root, { recursive: true, force: true });
  root = undefined;
});

describe('readMapBytes', () => {
  it('reads the exact bytes of a regular file', async () => {
    const bytes = Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0xff, 0x7d]);
    expect((await readMapBytes(disk(bytes), MAP)).equals(bytes)).toBe(true);
  });

  it('a missing map, or one under a path component that is a file, is ENOMAP', async () => {
    const fs = new MemFs();
    fs.writeFile('/lib/config', 'a file, not a directory');
    for (const path of ['/lib/nothing/goal_map.json', '/lib/config/goal_map.json']) {
      const err = await failure(readMapBytes(fs, path));
      expect(err).toBeInstanceOf(MapUnavailableError);
      expect(err).toMatchObject({ code: 'ENOMAP', message: `map ${path} does not exist` });
    }
  });

  it('a directory or a symlink (even to a good map) is EMAPKIND, and nothing is read through it', async () => {
    const fs = new MemFs();
    fs.mkdirpSync('/lib/config');
    fs.writeFile('/lib/elsewhere.json', TEXT);
    fs.symlink('/lib/elsewhere.json', MAP);
    fs.mkdirpSync('/lib/dir.json');
    const traced = faultFs(fs, { classify });
    const link = await failure(readMapBytes(traced, MAP));
    expect(link).toBeInstanceOf(MapUnavailableError);
    expect(link).toMatchObject({ code: 'EMAPKIND', message: `map ${MAP} is a symlink, not a regular file; jitd reads and writes only a regular file there` });
    expect(await failure(readMapBytes(fs, '/lib/dir.json'))).toMatchObject({ code: 'EMAPKIND', message: expect.stringContaining('is a dir,') });
    expect(traced.steps).toEqual(['lstat:map#1']);
  });

  it('a FIFO at the map path is EMAPKIND at once, not a read that blocks forever', async () => {
    root = await mkdtemp(join(tmpdir(), 'jitd-mapfile-'));
    const fifo = join(root, 'goal_map.json');
    execFileSync('mkfifo', [fifo]);
    expect(await failure(readMapBytes(nodeFs, fifo))).toMatchObject({ code: 'EMAPKIND', message: expect.stringContaining('is a other,') });
  });

  it(`a map of MAX_MAP_BYTES is read, one byte more is EMAPSIZE without a read`, async () => {
    const limit = Buffer.alloc(MAX_MAP_BYTES, 0x20);
    expect((await readMapBytes(disk(limit), MAP)).length).toBe(MAX_MAP_BYTES);
    const over = faultFs(disk(Buffer.alloc(MAX_MAP_BYTES + 1, 0x20)), { classify });
    const err = await failure(readMapBytes(over, MAP));
    expect(err).toBeInstanceOf(MapUnavailableError);
    expect(err).toMatchObject({ code: 'EMAPSIZE', message: `map ${MAP} is ${MAX_MAP_BYTES + 1} bytes, over the ${MAX_MAP_BYTES}-byte limit` });
    expect(over.steps).toEqual(['lstat:map#1']);
  });

  it('a directory whose size is over the limit is EMAPKIND, not EMAPSIZE (the limit is of a file)', async () => {
    class HugeDirs extends MemFs {
      override async lstat(path: string) {
        const st = await super.lstat(path);
        return st.kind === 'dir' ? { ...st, size: MAX_MAP_BYTES + 1 } : st;
      }
    }
    const fs = new HugeDirs();
    fs.mkdirpSync(MAP);
    expect(await failure(readMapBytes(fs, MAP))).toMatchObject({ code: 'EMAPKIND' });
  });

  it('a disk error from the lstat surfaces as itself, not as a missing map', async () => {
    const fs = faultFs(disk(), { classify, faults: [{ at: 'lstat:map#1', fault: { error: 'EIO' } }] });
    const err = await failure(readMapBytes(fs, MAP));
    expect(err).not.toBeInstanceOf(MapUnavailableError);
    expect(err).toMatchObject({ code: 'EIO' });
  });

  it('a map removed between the lstat and the read is ENOMAP; any other read error surfaces as itself', async () => {
    const mem = disk();
    const gone = faultFs(mem, { classify, hooks: { 'before:read:map#1': () => mem.unlink(MAP) } });
    const err = await failure(readMapBytes(gone, MAP));
    expect(err).toBeInstanceOf(MapUnavailableError);
    expect(err).toMatchObject({ code: 'ENOMAP', message: `map ${MAP} does not exist` });

    const eio = faultFs(disk(), { classify, faults: [{ at: 'read:map#1', fault: { error: 'EIO' } }] });
    const other = await failure(readMapBytes(eio, MAP));
    expect(other).not.toBeInstanceOf(MapUnavailableError);
    expect(other).toMatchObject({ code: 'EIO' });
  });
});

describe('readMap and readMapIfChanged', () => {
  it('readMap answers the bytes and their parse; a map that does not parse is a MapParseError', async () => {
    const snap = await readMap(disk(), MAP);
    expect(snap.bytes.toString()).toBe(TEXT);
    expect(snap.map.entries).toMatchObject([{ goal: 'REVIEW', type: 'protocol', filename: 'review.txt' }]);
    await expect(readMap(disk('{"REVIEW": {'), MAP)).rejects.toBeInstanceOf(MapParseError);
  });

  it('with nothing known, reads and parses', async () => {
    const snap = await readMapIfChanged(disk(), MAP, undefined);
    expect(snap.map.entries).toHaveLength(1);
  });

  it('reuses a known parse, by its bytes or by their hash, exactly when the bytes are the same', async () => {
    const known = await readMap(disk(), MAP);
    for (const k of [known, { sha256: mapHash(known.bytes), map: known.map }]) {
      const same = await readMapIfChanged(disk(), MAP, k);
      expect(same.map).toBe(known.map);
      const changed = await readMapIfChanged(disk(OTHER), MAP, k);
      expect(changed.map).not.toBe(known.map);
      expect(changed.bytes.toString()).toBe(OTHER);
      expect(changed.map.entries).toMatchObject([{ filename: 'mine.txt' }]);
    }
  });

  it('mapHash is the hex SHA-256 of the bytes', () => {
    expect(mapHash(Buffer.from('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
