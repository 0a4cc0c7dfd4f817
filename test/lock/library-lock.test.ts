/**
 * One daemon per library (invariant 7): the same map, components tree or state directory. A
 * second acquire is refused naming what is shared and the holder's pid; the kernel frees the
 * lock the instant its holder is SIGKILLed, so a new one takes it at once.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireLibraryLock, LockHeldError } from '../../src/lock/library-lock.js';

const DIST_LOCK = fileURLToPath(new URL('../../dist/lock/library-lock.js', import.meta.url));
let root: string;
let mapFile: string;
let stateDir: string;
let componentsDir: string;
/** The paths of the library in `root`, with overrides. */
const lib = (o: { mapFile?: string; componentsDir?: string; stateDir?: string } = {}) => ({ mapFile, componentsDir, stateDir, ...o });

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'jitd-lock-'));
  await mkdir(join(root, 'config'));
  mapFile = join(root, 'config', 'goal_map.json');
  stateDir = join(root, '.jitd');
  componentsDir = join(root, 'components');
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('library lock', () => {
  it("refuses a second acquire on the same library with the holder's pid, and allows it after release", async () => {
    const lock = await acquireLibraryLock(lib());
    const err = await acquireLibraryLock(lib()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockHeldError);
    expect((err as LockHeldError).holderPid).toBe(process.pid);
    expect((err as Error).message).toContain(`pid ${process.pid}`);
    expect((err as Error).message).toContain(mapFile);
    await lock.release();
    const again = await acquireLibraryLock(lib());
    await again.release();
  });

  it('identifies the library by its real path: a path through a symlink is the same library', async () => {
    const { symlink } = await import('node:fs/promises');
    await symlink(join(root, 'config'), join(root, 'config-link'));
    const lock = await acquireLibraryLock(lib());
    await expect(acquireLibraryLock(lib({ mapFile: join(root, 'config-link', 'goal_map.json') }))).rejects.toBeInstanceOf(LockHeldError);
    await lock.release();
  });

  it('does not conflict between two libraries (each its own map, components tree and state directory)', async () => {
    const a = await acquireLibraryLock(lib());
    const b = await acquireLibraryLock({
      mapFile: join(root, 'other', 'goal_map.json'),
      componentsDir: join(root, 'other', 'components'),
      stateDir: join(root, 'other', '.jitd'),
    });
    await a.release();
    await b.release();
  });

  it('refuses a second library with another map but the same components tree, naming the tree and the pid', async () => {
    const a = await acquireLibraryLock(lib());
    const err = await acquireLibraryLock({ mapFile: join(root, 'other', 'goal_map.json'), componentsDir, stateDir: join(root, 'other', '.jitd') }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LockHeldError);
    expect((err as LockHeldError).part).toBe('components tree');
    expect((err as Error).message).toContain(`same components tree ${componentsDir}`);
    expect((err as Error).message).toContain(`pid ${process.pid}`);
    await a.release();
    // The refused acquire took nothing: the other library starts once the first is gone.
    const b = await acquireLibraryLock({ mapFile: join(root, 'other', 'goal_map.json'), componentsDir, stateDir: join(root, 'other', '.jitd') });
    await b.release();
  });

  it('refuses a second library with the same state directory', async () => {
    const a = await acquireLibraryLock(lib());
    const err = await acquireLibraryLock({ mapFile: join(root, 'other', 'goal_map.json'), componentsDir: join(root, 'other', 'components'), stateDir }).catch(
      (e: unknown) => e,
    );
    expect((err as LockHeldError).part).toBe('state directory');
    expect((err as Error).message).toContain(`same state directory ${stateDir}`);
    await a.release();
  });

  it('names a components tree that does not exist yet by where it will be: through a symlinked parent it is the same tree', async () => {
    const { symlink } = await import('node:fs/promises');
    await mkdir(join(root, 'real-parent'));
    await symlink(join(root, 'real-parent'), join(root, 'linked-parent'));
    const a = await acquireLibraryLock(lib({ componentsDir: join(root, 'real-parent', 'not-yet', 'components') }));
    const err = await acquireLibraryLock({
      mapFile: join(root, 'other', 'goal_map.json'),
      componentsDir: join(root, 'linked-parent', 'not-yet', 'components'),
      stateDir: join(root, 'other', '.jitd'),
    }).catch((e: unknown) => e);
    expect((err as LockHeldError).part).toBe('components tree');
    await a.release();
  });

  it('after SIGKILL of a process holding the lock, a new acquire succeeds at once', async () => {
    expect(existsSync(DIST_LOCK)).toBe(true);
    const script = `
      const { acquireLibraryLock } = await import(${JSON.stringify(DIST_LOCK)});
      await acquireLibraryLock(${JSON.stringify({ mapFile, componentsDir, stateDir })});
      process.stdout.write('locked\\n');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d) => String(d).includes('locked') && resolve());
      child.on('exit', (code) => reject(new Error(`lock holder exited early (${code})`)));
    });
    const held = await acquireLibraryLock(lib()).catch((e: unknown) => e);
    expect(held).toBeInstanceOf(LockHeldError);
    expect((held as LockHeldError).holderPid).toBe(child.pid);

    const exited = new Promise((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const lock = await acquireLibraryLock(lib());
    await lock.release();
  });
});
