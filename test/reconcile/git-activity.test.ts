/**
 * Recognising a busy git repository (git-activity.ts) with the real git: operations in progress,
 * a detached HEAD, a fresh stash, the settle time after HEAD or the index changed, linked
 * worktrees, and no repository at all. Time is injected (`now`), never waited for.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
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

  it('a repository made inside the one found before (nearer the library) holds the very next write', async () => {
    const dir = await repo();
    const a = activity(dir, MIN);
    expect(a.check()).toBeUndefined();
    expect(a.status().gitDir).toBe(join(dir, '.git'));
    await initRepo(join(dir, 'config'));
    await writeFile(join(dir, 'config', '.git', 'index.lock'), '');
    expect(a.check()).toBe('a git command is writing the index (index.lock)');
    expect(a.status().gitDir).toBe(join(dir, 'config', '.git'));
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

/** The five files whose change starts the settle time, relative to the git directory. */
const SETTLE_FILES = ['HEAD', 'logs/HEAD', 'index', 'refs/stash', 'logs/refs/stash'];
const DAY = 24 * 60 * MIN;
/** A whole second `ago` ms before now (an mtime set with utimes reads back exactly). */
const secondsAgo = (ago: number) => Math.floor((Date.now() - ago) / 1000) * 1000;

/** A GitActivity on `dir/config` whose clock reads `clock.t`. */
const clocked = (dir: string, clock: { t: number }, opts: { settleMs?: number; stashHoldMs?: number; pollMs?: number } = {}) =>
  new GitActivity(join(dir, 'config'), {
    settleMs: opts.settleMs ?? 0,
    stashHoldMs: opts.stashHoldMs ?? 0,
    now: () => clock.t,
    ...(opts.pollMs ? { pollMs: opts.pollMs } : {}),
  });

/** A repo with one stash (so every settle file exists), all of its settle files last changed a day ago. */
async function stashedRepo(): Promise<string> {
  const dir = await repo();
  await writeFile(join(dir, 'config', 'goal_map.json'), '{"A": {}}\n');
  await git(dir, 'stash', '-q');
  const old = new Date(Date.now() - DAY);
  for (const f of SETTLE_FILES) utimesSync(join(dir, '.git', f), old, old);
  return dir;
}

/** The newest stash's time as its reflog records it (epoch ms). */
const stashTime = (dir: string) =>
  Number(
    /> (\d+) /.exec(
      readFileSync(join(dir, '.git', 'logs', 'refs', 'stash'), 'utf8')
        .trimEnd()
        .split('\n')
        .pop() ?? '',
    )?.[1],
  ) * 1000;

describe('git activity: each operation in progress, with the real git', () => {
  it('a conflicting `git rebase --apply` is "rebase or am in progress"', async () => {
    const dir = await repo();
    await conflictingBranches(dir);
    expect((await gitIn(dir, 'rebase', '--apply', 'other')).code).not.toBe(0);
    expect(activity(dir, MIN).check()).toBe('rebase or am in progress');
  });

  it('a conflicting `git rebase --merge` is "rebase in progress"', async () => {
    const dir = await repo();
    await conflictingBranches(dir);
    expect((await gitIn(dir, 'rebase', '--merge', 'other')).code).not.toBe(0);
    expect(activity(dir, MIN).check()).toBe('rebase in progress');
  });

  it('a conflicting cherry-pick holds; once its commit is made the sequencer of a multi-commit pick still holds', async () => {
    const dir = await repo();
    await conflictingBranches(dir);
    await writeFile(join(dir, 'other2.txt'), 'x\n');
    await git(dir, 'checkout', '-q', 'other');
    await git(dir, 'add', 'other2.txt');
    await git(dir, 'commit', '-qm', 'other 2');
    await git(dir, 'checkout', '-q', 'main');
    expect((await gitIn(dir, 'cherry-pick', 'other~1', 'other')).code).not.toBe(0);
    expect(activity(dir, MIN).check()).toBe('cherry-pick in progress');
    await writeFile(join(dir, 'notes.txt'), 'resolved\n');
    await git(dir, 'commit', '-qam', 'resolved');
    expect(existsSync(join(dir, '.git', 'CHERRY_PICK_HEAD'))).toBe(false);
    expect(activity(dir, MIN).check()).toBe('cherry-pick or revert in progress');
    await git(dir, 'cherry-pick', '--abort');
  });

  it('a conflicting revert is "revert in progress"', async () => {
    const dir = await repo();
    await writeFile(join(dir, 'notes.txt'), 'a\n');
    await git(dir, 'commit', '-qam', 'a');
    await writeFile(join(dir, 'notes.txt'), 'b\n');
    await git(dir, 'commit', '-qam', 'b');
    expect((await gitIn(dir, 'revert', '--no-edit', 'HEAD~1')).code).not.toBe(0);
    expect(activity(dir, MIN).check()).toBe('revert in progress');
  });

  it('a bisect holds from `git bisect start` on, before any commit is checked out', async () => {
    const dir = await repo();
    await git(dir, 'bisect', 'start');
    expect(activity(dir, MIN).check()).toBe('bisect in progress');
    await git(dir, 'bisect', 'reset');
    expect(activity(dir, MIN).check()).toBeUndefined();
  });

  it('index.lock has its own reason', async () => {
    const dir = await repo();
    await writeFile(join(dir, '.git', 'index.lock'), '');
    expect(activity(dir, MIN).check()).toBe('a git command is writing the index (index.lock)');
  });
});

describe('git activity: HEAD', () => {
  const DETACHED = 'detached HEAD (check out a branch to let jitd write)';

  it('one GitActivity sees HEAD detached and attached again, by git and by a rewrite in place', async () => {
    const dir = await repo();
    const a = activity(dir, MIN);
    expect(a.check()).toBeUndefined();
    await git(dir, 'checkout', '-q', '--detach');
    expect(a.check()).toBe(DETACHED);
    await git(dir, 'checkout', '-q', 'main');
    expect(a.check()).toBeUndefined();
    // The same file rewritten (same inode, nothing renamed in the git directory).
    const head = join(dir, '.git', 'HEAD');
    const sha = (await git(dir, 'rev-parse', 'HEAD')).trim();
    writeFileSync(head, `${sha}\n`);
    expect(a.check()).toBe(DETACHED);
    writeFileSync(head, 'ref: refs/heads/main\n');
    expect(a.check()).toBeUndefined();
  });

  it('a git directory without a readable HEAD (missing, or a directory) is not a detached HEAD', async () => {
    const dir = await repo();
    await rm(join(dir, '.git', 'HEAD'));
    expect(activity(dir, MIN).check()).toBeUndefined();
    await mkdir(join(dir, '.git', 'HEAD'));
    expect(activity(dir, MIN).check()).toBeUndefined();
  });
});

describe('git activity: the settle time', () => {
  const SETTLING = 'the git repository changed a moment ago (settling)';

  it.each(SETTLE_FILES)('a change of %s holds for exactly settleMs, and a future mtime for at most settleMs', async (file) => {
    const dir = await stashedRepo();
    const t = secondsAgo(60 * MIN);
    utimesSync(join(dir, '.git', file), new Date(t), new Date(t));
    const clock = { t: t + 1999 };
    const a = clocked(dir, clock, { settleMs: 2000 });
    expect(a.check()).toBe(SETTLING);
    clock.t = t + 2000;
    expect(a.check()).toBeUndefined();
    clock.t = t - 1999;
    expect(a.check()).toBe(SETTLING);
    clock.t = t - 2000;
    expect(a.check()).toBeUndefined();
  });

  it('the newest of the files counts, whichever comes first or last in the list, and a missing one is skipped', async () => {
    const dir = await repo();
    const old = new Date(Date.now() - DAY);
    const t = secondsAgo(60 * MIN);
    for (const f of ['HEAD', 'logs/HEAD', 'index']) utimesSync(join(dir, '.git', f), old, old);
    utimesSync(join(dir, '.git', 'HEAD'), new Date(t), new Date(t));
    expect(clocked(dir, { t: t + 1000 }, { settleMs: 2000 }).check()).toBe(SETTLING);
  });
});

describe('git activity: the stash', () => {
  const STASH = 'a recent git stash (waiting for its pop)';
  afterEach(() => void vi.unstubAllEnvs());

  it("holds from the stash's time in its reflog for exactly stashHoldMs, and for a stash dated ahead at most stashHoldMs", async () => {
    const dir = await repo();
    vi.stubEnv('GIT_COMMITTER_DATE', `${Math.floor((Date.now() - DAY) / 1000)} +0000`);
    await writeFile(join(dir, 'config', 'goal_map.json'), '{"A": {}}\n');
    await git(dir, 'stash', '-q');
    const at = stashTime(dir);
    // Made a moment ago, dated a day ago: the reflog's time decides, not the file's.
    expect(clocked(dir, { t: Date.now() }, { stashHoldMs: 10 * MIN }).check()).toBeUndefined();
    const clock = { t: at + 10 * MIN - 1 };
    const a = clocked(dir, clock, { stashHoldMs: 10 * MIN });
    expect(a.check()).toBe(STASH);
    clock.t = at + 10 * MIN;
    expect(a.check()).toBeUndefined();
    clock.t = at - 10 * MIN + 1;
    expect(a.check()).toBe(STASH);
    clock.t = at - 10 * MIN;
    expect(a.check()).toBeUndefined();
  });

  it('the newest stash counts (the last line of the reflog), seen by the same GitActivity', async () => {
    const dir = await repo();
    const first = Math.floor((Date.now() - DAY) / 1000);
    vi.stubEnv('GIT_COMMITTER_DATE', `${first} +0000`);
    await writeFile(join(dir, 'config', 'goal_map.json'), '{"A": {}}\n');
    await git(dir, 'stash', '-q');
    const clock = { t: (first + 3600) * 1000 + 1000 };
    const a = clocked(dir, clock, { stashHoldMs: 10 * MIN });
    expect(a.check()).toBeUndefined();
    vi.stubEnv('GIT_COMMITTER_DATE', `${first + 3600} +0000`);
    await writeFile(join(dir, 'config', 'goal_map.json'), '{"B": {}}\n');
    await git(dir, 'stash', '-q');
    expect(a.check()).toBe(STASH);
  });

  it('with the stash ref packed (`git pack-refs --all`) the reflog still holds', async () => {
    const dir = await repo();
    await writeFile(join(dir, 'config', 'goal_map.json'), '{"A": {}}\n');
    await git(dir, 'stash', '-q');
    await git(dir, 'pack-refs', '--all');
    expect(existsSync(join(dir, '.git', 'refs', 'stash'))).toBe(false);
    expect(clocked(dir, { t: stashTime(dir) + 1000 }, { stashHoldMs: 10 * MIN }).check()).toBe(STASH);
  });

  it('without a stash reflog, the stash ref file’s mtime is the stash’s time', async () => {
    const dir = await repo();
    await writeFile(join(dir, 'config', 'goal_map.json'), '{"A": {}}\n');
    await git(dir, 'stash', '-q');
    await rm(join(dir, '.git', 'logs', 'refs', 'stash'));
    const t = secondsAgo(DAY);
    utimesSync(join(dir, '.git', 'refs', 'stash'), new Date(t), new Date(t));
    const clock = { t: t + 1000 };
    const a = clocked(dir, clock, { stashHoldMs: 10 * MIN });
    expect(a.check()).toBe(STASH);
    clock.t = t + 10 * MIN;
    expect(a.check()).toBeUndefined();
    // The same GitActivity sees the ref file itself change (a stash made later).
    const later = t + 20 * MIN;
    utimesSync(join(dir, '.git', 'refs', 'stash'), new Date(later), new Date(later));
    clock.t = later + 1000;
    expect(a.check()).toBe(STASH);
  });
});

describe('git activity: finding the git directory', () => {
  it('a plain repository is its own common directory', async () => {
    const dir = await repo();
    expect(findGitDirs(join(dir, 'config'))).toEqual({ gitDir: join(dir, '.git'), commonDir: join(dir, '.git') });
  });

  it('a .git file is read like git: a relative gitdir, spaces around it, no newline at the end', async () => {
    const dir = await repo();
    await git(dir, 'init', '-q', `--separate-git-dir=${join(dir, 'store')}`, join(dir, 'lib'));
    await mkdir(join(dir, 'lib', 'config'));
    await writeFile(join(dir, 'lib', '.git'), 'gitdir:   ../store  ');
    expect(findGitDirs(join(dir, 'lib', 'config'))?.gitDir).toBe(join(dir, 'store'));
  });

  it('a .git file without a gitdir line at the start of a line is no repository: the search goes on upward', async () => {
    const dir = await repo();
    await mkdir(join(dir, 'lib', 'config'), { recursive: true });
    await writeFile(join(dir, 'lib', '.git'), `not a gitdir: ${join(dir, '.git', 'worktrees', 'x')}\n`);
    expect(findGitDirs(join(dir, 'lib', 'config'))?.gitDir).toBe(join(dir, '.git'));
  });

  it('a .git that is a symlink to the git directory is followed, as git does: a merge there holds', async () => {
    const dir = await repo();
    await conflictingBranches(dir);
    const lib = `${dir}-lib`;
    await mkdir(join(lib, 'config'), { recursive: true });
    try {
      symlinkSync(join(dir, '.git'), join(lib, '.git'));
      expect(findGitDirs(join(lib, 'config'))?.gitDir).toBe(join(lib, '.git'));
      expect(activity(lib, MIN).check()).toBeUndefined();
      expect((await gitIn(dir, 'merge', 'other')).code).not.toBe(0);
      expect(activity(lib, MIN).check()).toBe('merge in progress');
    } finally {
      await rm(lib, { recursive: true, force: true });
    }
  });

  it('a .git that is a FIFO is never opened (a read would block until someone writes it)', async () => {
    root = await mkdtemp(join(tmpdir(), 'jitd-gitfifo-'));
    await mkdir(join(root, 'config'));
    const fifo = join(root, '.git');
    execFileSync('mkfifo', [fifo]);
    // A writer waiting on the FIFO: a read of it would get a gitdir line.
    const writer = spawn('sh', ['-c', `printf 'gitdir: /nowhere\\n' > '${fifo}'`], { stdio: 'ignore' });
    try {
      expect(findGitDirs(join(root, 'config'))).toBeUndefined();
    } finally {
      writer.kill('SIGKILL');
    }
  });
});

describe('git activity: holds and their release', () => {
  /** A repo with index.lock held, a GitActivity on it (clock far from any mtime) and its releases heard. */
  async function heldRepo(opts: { settleMs?: number; pollMs?: number } = {}) {
    const dir = await repo();
    const lock = join(dir, '.git', 'index.lock');
    writeFileSync(lock, '');
    const clock = { t: Date.now() + DAY };
    const a = clocked(dir, clock, opts);
    const released: string[] = [];
    a.onRelease((previous) => released.push(previous));
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    return { dir, a, clock, released, hold: () => writeFileSync(lock, ''), free: () => rmSync(lock) };
  }
  afterEach(() => void vi.useRealTimers());

  it.each([
    [{ pollMs: 10 }, 10],
    [{ settleMs: 200 }, 200],
    [{ settleMs: 10 }, 50],
    [{ settleMs: 0 }, 1000],
    [{ settleMs: 5000 }, 1000],
  ])('with %o the state is polled every %i ms', async (opts, period) => {
    const { a, released, free } = await heldRepo(opts);
    expect(a.check()).toMatch(/index\.lock/);
    free();
    vi.advanceTimersByTime(period - 1);
    expect(released).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(released).toEqual(['a git command is writing the index (index.lock)']);
  });

  it('tells its listeners once per hold, however many checks saw it, and only once it ends', async () => {
    const { a, released, hold, free } = await heldRepo({ pollMs: 10 });
    a.check();
    a.check();
    vi.advanceTimersByTime(30);
    expect(released).toEqual([]);
    free();
    vi.advanceTimersByTime(100);
    expect(released).toHaveLength(1);
    hold();
    expect(a.check()).toMatch(/index\.lock/);
    free();
    vi.advanceTimersByTime(10);
    expect(released).toHaveLength(2);
  });

  it('a check that finds no hold starts no wait, and a release noticed by status() first is told as "hold"', async () => {
    const { a, released, free } = await heldRepo({ pollMs: 10 });
    free();
    expect(a.check()).toBeUndefined();
    vi.advanceTimersByTime(1000);
    expect(released).toEqual([]);
    const again = await heldRepo({ pollMs: 10 });
    expect(again.a.check()).toMatch(/index\.lock/);
    again.free();
    expect(again.a.status().held).toBeNull();
    vi.advanceTimersByTime(10);
    expect(again.released).toEqual(['hold']);
  });

  it('stop() ends the wait: no listener is told, and a later hold is waited on again', async () => {
    const { a, released, hold, free } = await heldRepo({ pollMs: 10 });
    a.check();
    a.stop();
    free();
    vi.advanceTimersByTime(100);
    expect(released).toEqual([]);
    hold();
    a.check();
    free();
    vi.advanceTimersByTime(10);
    expect(released).toHaveLength(1);
  });

  it('heldSince is when the hold was first seen, kept while it lasts, and new for the next hold', async () => {
    const { a, clock, hold, free } = await heldRepo({ pollMs: 10 });
    const first = clock.t;
    a.check();
    clock.t += 5000;
    expect(a.status()).toMatchObject({ held: expect.stringMatching(/index\.lock/), heldSince: new Date(first).toISOString() });
    free();
    expect(a.status()).toMatchObject({ held: null, heldSince: null });
    clock.t += 5000;
    hold();
    expect(a.status().heldSince).toBe(new Date(clock.t).toISOString());
    a.stop();
  });
});
