/**
 * The per-directory component watcher recovers from a watch it could not start (ENOSPC: the
 * inotify watch limit; EMFILE): the failure is reported, and rearm() watches the directory
 * again, asks for its rescan, and from then on its events arrive. `fs.watch` is made to fail
 * for one path; everything else is the real file system.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

const failing = new Set<string>();
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  return {
    ...real,
    watch: ((path: string, ...rest: unknown[]) => {
      if (failing.has(String(path))) throw Object.assign(new Error(`ENOSPC: System limit for number of file watchers reached, watch '${path}'`), { code: 'ENOSPC' });
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
});
