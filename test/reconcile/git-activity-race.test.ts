/**
 * A race in git-activity.ts's stash check, built deterministically: the check lstats the stash
 * ref, then (its cache missed) looks at it again for its time. A `git stash drop` of the last
 * stash landing between the two is no stash, not an exception out of the check. The moment is
 * made by a module mock of node:fs that removes the ref right after the check's first lstat of it.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { git, initRepo } from '../support/git-repo.js';

const hooks = vi.hoisted(() => ({ afterLstat: undefined as ((path: string) => void) | undefined }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const lstatSync = ((path: string, ...rest: unknown[]) => {
    const st = (fs.lstatSync as (...a: unknown[]) => unknown)(path, ...rest);
    hooks.afterLstat?.(path);
    return st;
  }) as typeof fs.lstatSync;
  return { ...fs, default: { ...fs, lstatSync }, lstatSync };
});
const { rmSync } = await import('node:fs');
const { GitActivity } = await import('../../src/reconcile/git-activity.js');

let root: string | undefined;
afterEach(async () => {
  hooks.afterLstat = undefined;
  if (root) await rm(root, { recursive: true, force: true });
  root = undefined;
});

describe('git activity: the stash ref dropped mid-check', () => {
  it('a stash ref removed between the check’s lstat and its look at the stash’s time is no stash', async () => {
    root = await mkdtemp(join(tmpdir(), 'jitd-gitrace-'));
    await initRepo(root);
    await mkdir(join(root, 'config'));
    await writeFile(join(root, 'config', 'goal_map.json'), '{}\n');
    await git(root, 'add', '-A');
    await git(root, 'commit', '-qm', 'base');
    await writeFile(join(root, 'config', 'goal_map.json'), '{"A": {}}\n');
    await git(root, 'stash', '-q');
    // No reflog: the ref file is what the check looks at, twice.
    await rm(join(root, '.git', 'logs', 'refs', 'stash'));
    const ref = join(root, '.git', 'refs', 'stash');
    hooks.afterLstat = (path) => {
      if (path !== ref) return;
      hooks.afterLstat = undefined;
      rmSync(ref);
    };
    const a = new GitActivity(join(root, 'config'), { settleMs: 0, stashHoldMs: 10 * 60_000 });
    expect(a.check()).toBeUndefined();
    expect(hooks.afterLstat).toBeUndefined();
  });
});
