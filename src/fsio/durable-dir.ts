/**
 * Directories that survive a power cut — and that come back when someone removes them.
 *
 * A directory's own entry lives in its parent, so a freshly made directory — and everything
 * acknowledged inside it — can vanish at a power cut unless the parent is fsynced too. The same
 * holds for a directory that already exists but was made by a run that crashed before that
 * fsync: nothing on disk tells the two apart, so the first use of a directory in each process
 * fsyncs its parent once.
 *
 * A directory known durable is still looked at (one lstat) on every use: git removes a type
 * directory when it empties, a person runs `rm -rf .jitd/quarantine`. A directory found gone
 * is made again, durably, and recorded ({@link recreatedDirs}) — never cached as present
 * (contract §4.7). A *root* (the components tree, the state directory) is never made on the way
 * down: a root registered with {@link setDirRoot} that is missing makes {@link ensureDurableDir}
 * throw {@link DirUnavailableError} unless its policy says it may be made again (the state
 * directory when it was removed, not moved away). So an install during `mv components x`
 * never creates an empty `components/` that the tree moved back would nest inside.
 */
import { dirname, sep } from 'node:path';
import { syncDirOrDie } from './durable-put.js';
import { DiskWriteError, JitdError } from './errors.js';
import { hasCode, lstatOrNull, type FsLayer } from './fs-layer.js';

/** A root directory (components tree, state directory) is missing: jitd waits for it. */
export class DirUnavailableError extends JitdError {
  constructor(
    readonly dir: string,
    why = 'is missing',
  ) {
    super('EUNAVAILABLE', `${dir} ${why}; jitd waits for it to come back and does not create it`);
  }
}

/** What jitd may do when a registered root is missing. */
export interface RootPolicy {
  /**
   * Answers true if the missing root may be made again here (the state directory was removed:
   * nothing can bring it back), false to wait for it (moved away: it may be moved back).
   * Without it the root is never made.
   */
  mayRecreate?: () => Promise<boolean>;
  /** Called after the root was made again. */
  recreated?: () => Promise<void> | void;
}

/** One directory jitd made again after it had used it in this process. */
export interface RecreatedDir {
  path: string;
  /** ISO time of the latest re-creation. */
  at: string;
  /** How many times it was made again. */
  times: number;
}

/** Who hears about every directory made (the daemon logs them). */
export type DirCreatedListener = (path: string, again: boolean) => void;

interface LayerState {
  known: Set<string>;
  roots: Map<string, RootPolicy>;
  recreated: Map<string, RecreatedDir>;
  listeners: Set<DirCreatedListener>;
}

/** Per file-system layer (tests run many simulated disks in one process). */
const layers = new WeakMap<FsLayer, LayerState>();

function stateOf(fs: FsLayer): LayerState {
  let s = layers.get(fs);
  if (!s) layers.set(fs, (s = { known: new Set(), roots: new Map(), recreated: new Map(), listeners: new Set() }));
  return s;
}

/**
 * Registers `root` (absolute) as a directory {@link ensureDurableDir} never makes on the way to
 * one inside it, unless `policy.mayRecreate` allows. Answers a function that unregisters it.
 */
export function setDirRoot(fs: FsLayer, root: string, policy: RootPolicy = {}): () => void {
  const s = stateOf(fs);
  s.roots.set(root, policy);
  return () => {
    if (s.roots.get(root) === policy) s.roots.delete(root);
  };
}

/** Adds a listener for every directory {@link ensureDurableDir} makes; answers its removal. */
export function onDirCreated(fs: FsLayer, listener: DirCreatedListener): () => void {
  const s = stateOf(fs);
  s.listeners.add(listener);
  return () => s.listeners.delete(listener);
}

/** The directories made again after they vanished while this process used them. */
export function recreatedDirs(fs: FsLayer): RecreatedDir[] {
  return [...stateOf(fs).recreated.values()];
}

const isInsideOrAt = (root: string, p: string) => p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);

/**
 * mkdir -p `dir`, then make `dir` and every directory created on the way durable in its parent.
 * Answers the directories it made (parents first; empty if `dir` was there). Throws
 * {@link DirUnavailableError} if that would mean making a registered root that must not be made.
 */
export async function ensureDurableDir(fs: FsLayer, dir: string, mode: number): Promise<string[]> {
  const s = stateOf(fs);
  if (s.known.has(dir) && (await lstatOrNull(fs, dir))) return [];
  const created: string[] = [];
  for (let p = dir; !(await lstatOrNull(fs, p)); p = dirname(p)) {
    created.unshift(p);
    if (dirname(p) === p) break;
  }
  if (created.length) {
    // The outermost directory to make: if it is a registered root (or above one that `dir` is
    // inside), ask its policy; a root it may not make stops everything here.
    for (const [root, policy] of s.roots) {
      if (!isInsideOrAt(root, dir) || !created.includes(root)) continue;
      if (!(await policy.mayRecreate?.())) throw new DirUnavailableError(root);
    }
    await fs.mkdirp(dir, mode);
  }
  // Parents first: a child's entry is only worth something once its parent's entry is durable.
  for (const d of created.length ? created : [dir]) await syncDirOrDie(fs, dirname(d));
  const at = new Date().toISOString();
  for (const d of created) {
    // Made again: this process had used it (known durable) or had made it again before.
    const again = s.known.has(d) || s.recreated.has(d);
    if (again) {
      const prev = s.recreated.get(d);
      s.recreated.set(d, { path: d, at, times: (prev?.times ?? 0) + 1 });
    }
    for (const l of s.listeners) l(d, again);
    s.known.delete(d);
  }
  s.known.add(dir);
  for (const [root, policy] of s.roots) if (created.includes(root)) await policy.recreated?.();
  return created;
}

/** True if `err` says a path's directory is missing (as a put into a removed directory fails). */
function isMissingDir(err: unknown): boolean {
  return hasCode(err, 'ENOENT') || (err instanceof DiskWriteError && err.errno === 'ENOENT');
}

/**
 * Runs `write` (which puts a file into `dir`); if it fails because `dir` is gone, makes `dir`
 * again with {@link ensureDurableDir} and runs `write` once more. `onRecreated` runs between
 * the two (the request store rewrites the records the removed directory held).
 */
export async function inDurableDir<T>(fs: FsLayer, dir: string, mode: number, write: () => Promise<T>, onRecreated?: () => Promise<void>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (!isMissingDir(err) || (await lstatOrNull(fs, dir))) throw err;
    await ensureDurableDir(fs, dir, mode);
    await onRecreated?.();
    return write();
  }
}
