/**
 * Recognising a busy git repository (git-activity.ts) with the real git: operations in progress,
 * a detached HEAD, a fresh stash, the settle time after HEAD or the index changed, linked
 * worktrees, and no repository at all. Time is injected (`now`), never waited for.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findGitDirs, GitActivity } from '../../src/reconcile/git-activity.js';
import { git, gitIn, initRepo } from '../support/git-repo.js';

let root: string | undefined;
afterEach(async () => {
  if (root) await rm(root, { recursive: true, force: true });
  root = undefined;
});

const MIN = 60_000;

/** A repo with one commit: `config/goal_map.json` and a file to conflict on. */
async function repo(): Promise<string> {
  root = await mkdtemp(join(tmpdir(), 'jitd-git-'));
  await initRepo(root);
  await mkdir(join(root, 'config'));
  await writeFile(join(root, 'config', 'goal_map.json'), '{}\n');
  await writeFile(join(root, 'notes.txt'), 'base\n');
  await git(root, 'add', '-A');
  await git(root, 'commit', '-qm', 'base');
  return root;
}

/** A GitActivity on `dir/config` whose clock is `offset` ms ahead of the real one. */
const activity = (dir: string, offset: number, opts: { settleMs?: number; stashHoldMs?: number } = {}) =>
  new GitActivity(join(dir, 'config'), { settleMs: opts.settleMs ?? 2000, stashHoldMs: opts.stashHoldMs ?? 10 * MIN, now: () => Date.now() + offset });

/** Two branches that change notes.txt differently: merging one into the other conflicts. */
async function conflictingBranches(dir: string): Promise<void> {
  await git(dir, 'checkout', '-qb', 'other');
  await writeFile(join(dir, 'notes.txt'), 'other\n');
  await git(dir, 'commit', '-qam', 'other');
  await git(dir, 'checkout', '-q', 'main');
  await writeFile(join(dir, 'notes.txt'), 'main\n');
  await git(dir, 'commit', '-qam', 'main');
}

describe('git activity', () => {
  it('outside any repository nothing is ever held', async () => {
    root = await mkdtemp(join(tmpdir(), 'jitd-nogit-'));
    await mkdir(join(root, 'config'));
    const a = activity(root, 0);
    expect(a.check()).toBeUndefined();
    expect(a.status()).toEqual({ gitDir: null, held: null, heldSince: null });
  });

  it('a repository made after the first check holds the very next write (git init while jitd runs)', async () => {
    root = await mkdtemp(join(tmpdir(), 'jitd-latergit-'));
    await mkdir(join(root, 'config'));
    const a = activity(root, MIN);
    expect(a.check()).toBeUndefined();
    await initRepo(root);
    await writeFile(join(root, '.git', 'index.lock'), '');
    expect(a.check()).toBe('a git command is writing the index (index.lock)');
  });

  it('holds for the settle time after a commit, then not', async () => {
    const dir = await repo();
    expect(activity(dir, 0).check()).toMatch(/settling/);
    const later = activity(dir, 5000);
    expect(later.check()).toBeUndefined();
    expect(later.status().gitDir).toBe(join(dir, '.git'));
  });

  it('holds while a merge is in progress (a real conflicting merge) until it is concluded', async () => {
    const dir = await repo();
    await conflictingBranches(dir);
    expect((await gitIn(dir, 'merge', 'other')).code).not.toBe(0);
    expect(activity(dir, MIN).check()).toBe('merge in progress');
    await git(dir, 'merge', '--abort');
    expect(activity(dir, MIN).check()).toBeUndefined();
  });

  it('holds while a rebase is in progress (a real conflicting rebase)', async () => {
    const dir = await repo();
    await conflictingBranches(dir);
    expect((await gitIn(dir, 'rebase', 'other')).code).not.toBe(0);
    expect(activity(dir, MIN).check()).toMatch(/rebase/);
    await git(dir, 'rebase', '--abort');
    expect(activity(dir, MIN).check()).toBeUndefined();
  });

  it('holds while git holds index.lock', async () => {
    const dir = await repo();
    await writeFile(join(dir, '.git', 'index.lock'), '');
    expect(activity(dir, MIN).check()).toMatch(/index\.lock/);
  });

  it('holds on a detached HEAD (an older commit checked out) until a branch is checked out', async () => {
    const dir = await repo();
    await git(dir, 'checkout', '-q', '--detach');
    expect(activity(dir, MIN).check()).toMatch(/detached HEAD/);
    await git(dir, 'checkout', '-q', 'main');
    expect(activity(dir, MIN).check()).toBeUndefined();
  });

  it('holds while the newest stash is younger than stashHoldMs, and not once it is popped', async () => {
    const dir = await repo();
    await writeFile(join(dir, 'config', 'goal_map.json'), '{"A": {}}\n');
    await git(dir, 'stash', '-q');
    expect(activity(dir, MIN).check()).toMatch(/stash/);
    expect(activity(dir, 11 * MIN).check()).toBeUndefined();
    expect(activity(dir, MIN, { stashHoldMs: 0 }).check()).toBeUndefined();
    await git(dir, 'stash', 'pop', '-q');
    expect(activity(dir, MIN).check()).toBeUndefined();
  });

  it('finds the repository of a linked worktree (a .git file) and its stash in the common directory', async () => {
    const dir = await repo();
    const wt = join(dir, '..', `${join(dir).split('/').pop()}-wt`);
    await git(dir, 'worktree', 'add', '-q', '-b', 'wt', wt);
    try {
      const dirs = findGitDirs(join(wt, 'config'));
      expect(dirs?.gitDir).toBe(join(dir, '.git', 'worktrees', wt.split('/').pop() as string));
      expect(dirs?.commonDir).toBe(join(dir, '.git'));
      await writeFile(join(wt, 'config', 'goal_map.json'), '{"B": {}}\n');
      await git(wt, 'stash', '-q');
      expect(activity(wt, MIN).check()).toMatch(/stash/);
    } finally {
      await rm(wt, { recursive: true, force: true });
    }
  });

  it('tells its listeners once a hold that was waited on ends', async () => {
    const dir = await repo();
    await writeFile(join(dir, '.git', 'index.lock'), '');
    const a = new GitActivity(join(dir, 'config'), { settleMs: 0, stashHoldMs: 0, pollMs: 10 });
    const released = new Promise<string>((resolve) => a.onRelease(resolve));
    expect(a.check()).toMatch(/index\.lock/);
    expect(a.status().held).toMatch(/index\.lock/);
    await rm(join(dir, '.git', 'index.lock'));
    expect(await released).toMatch(/index\.lock/);
    expect(a.status().held).toBeNull();
    a.stop();
  });
});
