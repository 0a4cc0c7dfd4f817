/**
 * Not fighting git (invariant 4): when the library is a git work tree, jitd's library writes (map
 * repoints, component installs and restores, quarantine moves) wait while the repository shows
 * that git, or a person using it, is in the middle of something:
 *
 *   operation  an operation in progress: `index.lock`, `MERGE_HEAD`, `rebase-merge/`,
 *              `rebase-apply/`, `CHERRY_PICK_HEAD`, `REVERT_HEAD`, `BISECT_LOG`, `sequencer/`;
 *   detached   HEAD is detached (an older commit checked out to look at, a bisect): a write there
 *              belongs to no branch and makes the way back (`git checkout main`) refuse;
 *   stash      the newest stash is younger than `stashHoldMs` (`git stash; …; git stash pop`:
 *              re-applying jitd's change meanwhile would make the pop refuse);
 *   settle     HEAD, its reflog, the index or the stash changed less than `settleMs` ago (git
 *              writes the tree, then the index, then HEAD; a person's next command follows).
 *
 * Requests are still created and answered, and model output staged (state, not library writes).
 * The check is a handful of lstats of small files in the git directory (plus a read of HEAD or the
 * stash reflog when they changed), cheap enough to run before every library write. While
 * something waits on a hold the state is polled, and listeners are told once it ends.
 */
import { lstatSync, readFileSync, statSync, type Stats } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export interface GitHoldOptions {
  /** Quiet time after HEAD, the index or the stash last changed. */
  settleMs: number;
  /** How long after the newest stash was made writes wait for its pop (0: not at all). */
  stashHoldMs: number;
  /** Poll period while a hold is waited on. */
  pollMs?: number;
  now?: () => number;
}

export interface GitStatus {
  /** The repository's git directory, or null if the library is not in a git work tree. */
  gitDir: string | null;
  /** Why library writes wait right now (`merge in progress`, `detached HEAD`, ...), or null. */
  held: string | null;
  /** Since when (ISO) the current hold has been seen, or null. */
  heldSince: string | null;
}

const OPERATIONS: [string, string][] = [
  ['index.lock', 'a git command is writing the index (index.lock)'],
  ['MERGE_HEAD', 'merge in progress'],
  ['rebase-merge', 'rebase in progress'],
  ['rebase-apply', 'rebase or am in progress'],
  ['CHERRY_PICK_HEAD', 'cherry-pick in progress'],
  ['REVERT_HEAD', 'revert in progress'],
  ['sequencer', 'cherry-pick or revert in progress'],
  ['BISECT_LOG', 'bisect in progress'],
];

const statOrNull = (p: string): Stats | undefined => {
  // Stryker: the catch block below → `{}` is equivalent (it answers undefined all the same).
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
};
/** stat(2), following a symlink: git follows a `.git` that is a symlink to its directory or file. */
const followOrNull = (p: string): Stats | undefined => {
  // Stryker: the catch block below → `{}` is equivalent (it answers undefined all the same).
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
};
const readOrNull = (p: string): string | undefined => {
  // Stryker: the catch block below → `{}` is equivalent (it answers undefined all the same).
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
};

/** The git directory and common directory of the work tree containing `dir`, or undefined. */
export function findGitDirs(dir: string): { gitDir: string; commonDir: string } | undefined {
  for (let d = resolve(dir); ; d = dirname(d)) {
    const dotGit = join(d, '.git');
    const st = followOrNull(dotGit);
    let gitDir: string | undefined;
    if (st?.isDirectory()) gitDir = dotGit;
    else if (st?.isFile()) {
      // A linked worktree or a submodule: `gitdir: <path>`.
      // Stryker: `?? ''` → "Stryker was here!" is equivalent — neither is a gitdir line.
      const m = /^gitdir:\s*(.+?)\s*$/m.exec(readOrNull(dotGit) ?? '');
      if (m) gitDir = resolve(d, m[1] as string);
    }
    if (gitDir) {
      const common = readOrNull(join(gitDir, 'commondir'))?.trim();
      return { gitDir, commonDir: common ? resolve(gitDir, common) : gitDir };
    }
    if (dirname(d) === d) return undefined;
  }
}

/** The creation time (epoch ms) of the newest stash, from the last line of its reflog. */
function newestStashAt(commonDir: string): number | undefined {
  const log = readOrNull(join(commonDir, 'logs', 'refs', 'stash'));
  if (log === undefined) return statOrNull(join(commonDir, 'refs', 'stash'))?.mtimeMs;
  const lines = log.trimEnd().split('\n');
  // Stryker: `?? ''` is equivalent (and never reached) — split always answers at least one line.
  const m = /> (\d+) [+-]\d{4}\t/.exec(lines[lines.length - 1] ?? '');
  return m ? Number(m[1]) * 1000 : undefined;
}

export class GitActivity {
  private dirs: { gitDir: string; commonDir: string } | undefined;
  private heldReason: string | undefined;
  private heldSince = 0;
  private waiting = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners: ((previous: string) => void)[] = [];
  private readonly now: () => number;
  /** HEAD's content by its mtime and size (read only when it changes). */
  private headCache: { key: string; detached: boolean } | undefined;
  private stashCache: { key: string; at: number | undefined } | undefined;

  constructor(
    private readonly libraryDir: string,
    private readonly opts: GitHoldOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  private repo(): { gitDir: string; commonDir: string } | undefined {
    // Looked up every time (one lstat per directory from the library up to the repository, or
    // up to / if there is none, before a library write): a repository made after jitd started
    // (`git init`, a clone into place) must hold the very next write, also one made nearer the
    // library than the repository found before (a `git init` inside a repository: git then
    // answers for the nearer one). Throttling this lookup to once in 10 s let a restore race the
    // first `git checkout` of a fresh repository (tree-changes.test.ts); keeping the repository
    // found while its git directory was still there missed a nearer one made since.
    this.dirs = findGitDirs(this.libraryDir);
    return this.dirs;
  }

  /** Why library writes must wait right now, or undefined; computed afresh (a few lstats). */
  private compute(): string | undefined {
    const repo = this.repo();
    if (!repo) return undefined;
    const { gitDir, commonDir } = repo;
    for (const [name, why] of OPERATIONS) if (statOrNull(join(gitDir, name))) return why;
    const now = this.now();
    const head = statOrNull(join(gitDir, 'HEAD'));
    if (head) {
      const key = `${head.mtimeMs}:${head.size}:${head.ino}`;
      // Stryker: `→ true` (read HEAD every time) is equivalent — the cache only saves the read.
      if (this.headCache?.key !== key) this.headCache = { key, detached: !(readOrNull(join(gitDir, 'HEAD')) ?? 'ref:').startsWith('ref:') };
      if (this.headCache.detached) return 'detached HEAD (check out a branch to let jitd write)';
    }
    // Stryker: `> 0` → `>= 0` or → true is equivalent — with 0, `now - at < 0 && at - now < 0` never holds.
    if (this.opts.stashHoldMs > 0) {
      const st = statOrNull(join(commonDir, 'logs', 'refs', 'stash')) ?? statOrNull(join(commonDir, 'refs', 'stash'));
      if (st) {
        const key = `${st.mtimeMs}:${st.size}:${st.ino}`;
        // Stryker: `→ true` (read the reflog every time) is equivalent — the cache only saves the read.
        if (this.stashCache?.key !== key) this.stashCache = { key, at: newestStashAt(commonDir) };
        const at = this.stashCache.at;
        // Stryker: `at !== undefined` → true is equivalent — with undefined both comparisons are false.
        if (at !== undefined && now - at < this.opts.stashHoldMs && at - now < this.opts.stashHoldMs) return 'a recent git stash (waiting for its pop)';
      }
    }
    let changed = Number.NEGATIVE_INFINITY;
    for (const p of [
      join(gitDir, 'HEAD'),
      join(gitDir, 'logs', 'HEAD'),
      join(gitDir, 'index'),
      join(commonDir, 'refs', 'stash'),
      join(commonDir, 'logs', 'refs', 'stash'),
    ]) {
      const m = statOrNull(p)?.mtimeMs;
      // Stryker: `m !== undefined` → true (`undefined > x` is false) and `>` → `>=` (the same maximum)
      // are equivalent.
      if (m !== undefined && m > changed) changed = m;
    }
    // A clock step or a future mtime (another machine's clock) holds for one settle time at most.
    if (Math.abs(now - changed) < this.opts.settleMs) return 'the git repository changed a moment ago (settling)';
    return undefined;
  }

  /**
   * Why library writes must wait right now, or undefined. A caller that gets a reason is told
   * when the hold ends through {@link onRelease} (the state is polled until then).
   */
  check(): string | undefined {
    const reason = this.compute();
    this.note(reason);
    if (reason) this.waitForRelease();
    return reason;
  }

  /** The current state, for `jitctl status` (does not start a wait). */
  status(): GitStatus {
    this.note(this.compute());
    return {
      gitDir: this.dirs?.gitDir ?? null,
      held: this.heldReason ?? null,
      heldSince: this.heldReason ? new Date(this.heldSince).toISOString() : null,
    };
  }

  /** Registers `fn`, called with the previous reason each time a hold that was waited on ends. */
  onRelease(fn: (previous: string) => void): void {
    this.listeners.push(fn);
  }

  /** Stops polling (daemon shutdown). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer); // Stryker: → true is equivalent (clearTimeout(undefined) does nothing).
    this.timer = undefined;
    this.waiting = false;
  }

  private note(reason: string | undefined): void {
    if (reason && !this.heldReason) this.heldSince = this.now();
    this.heldReason = reason;
  }

  private waitForRelease(): void {
    if (this.waiting) return;
    this.waiting = true;
    const period = this.opts.pollMs ?? Math.max(50, Math.min(1000, this.opts.settleMs || 1000));
    const tick = () => {
      const previous = this.heldReason;
      const reason = this.compute();
      this.note(reason);
      if (reason) {
        this.timer = setTimeout(tick, period);
        this.timer.unref();
        return;
      }
      this.timer = undefined;
      this.waiting = false;
      for (const fn of this.listeners) fn(previous ?? 'hold');
    };
    this.timer = setTimeout(tick, period);
    this.timer.unref();
  }
}
