/**
 * The per-directory component watcher recovers from a watch it could not start (ENOSPC: the
 * inotify watch limit; EMFILE): the failure is reported, and rearm() watches the directory
 * again, asks for its rescan, and from then on its events arrive. `fs.watch` is made to fail
 * for one path; everything else is the real file system. It reports the components root moving
 * away and back (unavailable, not empty), and answers the lost-event detector's comparison of a
 * directory with what the caller knows.
 */
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

const failing = new Set<string>();
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  return {
    ...real,
    watch: ((path: string, ...rest: unknown[]) => {
      if (failing.has(String(path)))
        throw Object.assign(new Error(`ENOSPC: System limit for number of file watchers reached, watch '${path}'`), { code: 'ENOSPC' });
      return (real.watch as (...a: unknown[]) => unknown)(path, ...rest);
    }) as typeof real.watch,
  };
});

const { watchComponentDirs } = await import('../../src/watch/dir-watch.js');

let root: string | undefined;
afterEach(async () => {
  failing.clear();
  if (root) await rm(root, { recursive: true, force: true });
  root = undefined;
});

const until = async (what: string, ok: () => boolean) => {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(ok(), what).toBe(true);
};

describe('watchComponentDirs', () => {
  it('reports a type directory it cannot watch, and rearm() watches it again and rescans it', async () => {
    root = await mkdtemp(join(tmpdir(), 'jitd-dirwatch-'));
    const components = join(root, 'components');
    await mkdir(join(components, 'protocols'), { recursive: true });
    failing.add(join(components, 'protocols'));
    const errors: string[] = [];
    const typeDirs: string[] = [];
    const seen: string[] = [];
    const w = watchComponentDirs({
      componentsDir: components,
      stateDir: join(root, '.jitd'),
      onComponent: (dir, name, present) => seen.push(`${dir}/${name}:${present}`),
      onTypeDir: (dir) => typeDirs.push(dir),
      onCookie: () => undefined,
      onError: (err) => errors.push((err as NodeJS.ErrnoException).code ?? err.message),
    });
    await w.ready;
    expect(errors).toEqual(['ENOSPC']);
    expect(w.watched()).toBe(1); // the root only
    // Still impaired: rearm() says so.
    expect(await w.rearm()).toBe(1);

    failing.clear();
    expect(await w.rearm()).toBe(0);
    expect(w.watched()).toBe(2);
    expect(typeDirs).toContain('protocols');
    await writeFile(join(components, 'protocols', 'new.txt'), 'x\n');
    await until('the event of a file created after the rearm', () => seen.includes('protocols/new.txt:true'));
    w.close();
  });

  it('reports the root moved away (no type directory rescans) and back; while it is away the detector looks at its parent', async () => {
    root = await mkdtemp(join(tmpdir(), 'jitd-dirwatch-'));
    const components = join(root, 'components');
    await mkdir(join(components, 'protocols'), { recursive: true });
    const roots: boolean[] = [];
    const typeDirs: string[] = [];
    const w = watchComponentDirs({
      componentsDir: components,
      stateDir: join(root, '.jitd'),
      onComponent: () => undefined,
      onTypeDir: (dir) => typeDirs.push(dir),
      onCookie: () => undefined,
      onError: (err) => {
        throw err;
      },
      onRoot: (present) => roots.push(present),
    });
    await w.ready;
    await rename(components, join(root, 'away'));
    await until('the root reported gone', () => roots.includes(false));
    expect(w.rootMissing()).toBe(true);
    expect(typeDirs).toEqual([]); // an absent root is not a set of empty directories
    // The detector looks at the parent while the root is away; the root back is a difference.
    expect([...w.lossPaths()].map(([k]) => k)).toEqual(['..']);
    expect(await w.consistent('..')).toBe(true);
    await rename(join(root, 'away'), components);
    await until('the root reported back', () => roots.at(-1) === true);
    expect(w.rootMissing()).toBe(false);
    expect(await w.consistent('..')).toBe(true);
    w.close();
  });

  it('tells the lost-event detector whether a directory holds what the caller knows', async () => {
    root = await mkdtemp(join(tmpdir(), 'jitd-dirwatch-'));
    const components = join(root, 'components');
    await mkdir(join(components, 'protocols'), { recursive: true });
    await writeFile(join(components, 'protocols', 'a.txt'), 'a');
    await writeFile(join(components, 'protocols', '.hidden'), 'h'); // never indexed: not compared
    await writeFile(join(components, 'protocols', 'a.txt.bak'), 'b'); // editor litter: not compared
    const known = new Set(['a.txt']);
    const w = watchComponentDirs({
      componentsDir: components,
      stateDir: join(root, '.jitd'),
      onComponent: () => undefined,
      onTypeDir: () => undefined,
      onCookie: () => undefined,
      onError: (err) => {
        throw err;
      },
      known: () => known,
    });
    await w.ready;
    expect([...w.lossPaths()].map(([k]) => k).sort()).toEqual(['.', 'protocols']);
    expect(await w.consistent('protocols')).toBe(true);
    expect(await w.consistent('.')).toBe(true);
    await writeFile(join(components, 'protocols', 'b.txt'), 'b');
    expect(await w.consistent('protocols')).toBe(false); // a file the caller was never told of
    known.add('b.txt').add('c.txt');
    expect(await w.consistent('protocols')).toBe(false); // one it was told of that is not there
    known.delete('c.txt');
    expect(await w.consistent('protocols')).toBe(true);
    w.close();
  });
});
