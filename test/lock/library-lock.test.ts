/**
 * One daemon per library (invariant 7): a second acquire is refused naming the holder's pid;
 * the kernel frees the lock the instant its holder is SIGKILLed, so a new one takes it at once.
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

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'jitd-lock-'));
  await mkdir(join(root, 'config'));
  mapFile = join(root, 'config', 'goal_map.json');
  stateDir = join(root, '.jitd');
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('library lock', () => {
  it('refuses a second acquire on the same library with the holder\'s pid, and allows it after release', async () => {
    const lock = await acquireLibraryLock(mapFile, stateDir);
    const err = await acquireLibraryLock(mapFile, stateDir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockHeldError);
    expect((err as LockHeldError).holderPid).toBe(process.pid);
    expect((err as Error).message).toContain(`pid ${process.pid}`);
    expect((err as Error).message).toContain(mapFile);
    await lock.release();
    const again = await acquireLibraryLock(mapFile, stateDir);
    await again.release();
  });

  it('identifies the library by its real path: a path through a symlink is the same library', async () => {
    const { symlink } = await import('node:fs/promises');
    await symlink(join(root, 'config'), join(root, 'config-link'));
    const lock = await acquireLibraryLock(mapFile, stateDir);
    await expect(acquireLibraryLock(join(root, 'config-link', 'goal_map.json'), stateDir)).rejects.toBeInstanceOf(LockHeldError);
    await lock.release();
  });

  it('does not conflict between two libraries', async () => {
    const a = await acquireLibraryLock(mapFile, stateDir);
    const b = await acquireLibraryLock(join(root, 'other', 'goal_map.json'), stateDir);
    await a.release();
    await b.release();
  });

  it('after SIGKILL of a process holding the lock, a new acquire succeeds at once', async () => {
    expect(existsSync(DIST_LOCK)).toBe(true);
    const script = `
      const { acquireLibraryLock } = await import(${JSON.stringify(DIST_LOCK)});
      await acquireLibraryLock(${JSON.stringify(mapFile)}, ${JSON.stringify(stateDir)});
      process.stdout.write('locked\\n');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d) => String(d).includes('locked') && resolve());
      child.on('exit', (code) => reject(new Error(`lock holder exited early (${code})`)));
    });
    const held = await acquireLibraryLock(mapFile, stateDir).catch((e: unknown) => e);
    expect(held).toBeInstanceOf(LockHeldError);
    expect((held as LockHeldError).holderPid).toBe(child.pid);

    const exited = new Promise((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const lock = await acquireLibraryLock(mapFile, stateDir);
    await lock.release();
  });
});
