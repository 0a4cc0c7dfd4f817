/**
 * The component tree, watched one directory at a time: node's non-recursive `fs.watch` on
 * `componentsDir` and on each `<type>s` directory in it — one inotify watch per directory,
 * whatever the number of files (chokidar 5 spends one per file, and a stat and a handle per
 * file; see BENCHMARKS.md, P4).
 *
 * Events are hints, as everywhere in jitd; each is checked against the disk:
 * - in a type directory, a `rename` event (created, deleted, renamed in or out) for a name
 *   lstats that one path → `onComponent(dir, name, present)`; `change` events (content,
 *   attributes) are ignored, as the chokidar watcher ignored them;
 * - in `componentsDir`, an event for a name lstats it: a directory is (re)watched and
 *   `onTypeDir(name)` rescans it; a directory that is gone is unwatched and rescanned (dropped);
 *   a symlink pointing outside componentsDir is not watched (fs.watch would follow it), but
 *   rescanned, which drops it from the index as the full scan refuses it;
 * - a symlink under a generated name that points outside is reported absent, never adopted;
 * - an event without a file name means the kernel could not say what changed: the directory
 *   is rescanned (`onTypeDir`, or every type directory for the root);
 * - `fs.watch` failing (ENOSPC: the inotify watch limit; EMFILE) or emitting `error` → `onError`
 *   (the daemon answers with a full reconcile). The kernel's queue overflow is not surfaced by
 *   node at all: the lost-event detector (loss-detector.ts, fed by `lossPaths`/`consistent`)
 *   notices a directory whose listing settled different from what the events said;
 * - componentsDir itself vanishing (moved away, removed) → `onRoot(false)`, and its parent is
 *   watched until it is back → `onRoot(true)`: a missing root is unavailable, not empty.
 * Checks of one path never overlap: a check asked for while one runs is run again after it, so
 * the last word is always a look at the disk made after the last event.
 */
import { watch, type FSWatcher } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { nodeFs } from '../fsio/node-fs.js';
import { isJitdTemp } from '../fsio/temp-files.js';
import { isGeneratedName } from '../library/names.js';
import { escapesRoot } from '../library/paths.js';
import { isCookie, isIgnored } from './ignore-rules.js';

export interface DirWatchOptions {
  componentsDir: string;
  stateDir: string;
  onComponent(dirName: string, name: string, present: boolean): void;
  onTypeDir(dirName: string): void;
  /** A cookie file (see watcher.ts) appeared or vanished in `componentsDir`. */
  onCookie(name: string): void;
  /**
   * `componentsDir` itself vanished (`present` false: moved away, removed) or is back. Without
   * it, each type directory is reported through `onTypeDir` instead.
   */
  onRoot?(present: boolean): void;
  /**
   * The files the caller knows in one type directory (its index), for the loss detector's
   * comparison with the disk; without it a settled change is never judged a loss.
   */
  known?(dirName: string): ReadonlySet<string> | undefined;
  onError(err: Error): void;
}

export interface DirWatch {
  /** Resolves once `componentsDir` and every type directory in it are watched. */
  ready: Promise<void>;
  /** Directories watched now (one inotify watch each). */
  watched(): number;
  /**
   * Tries again to watch every directory whose watch failed (ENOSPC: the inotify limit; EMFILE)
   * and asks for a rescan of each one it now watches; answers how many are still unwatched.
   */
  rearm(): Promise<number>;
  /** The watched directories under stable keys (`.` is componentsDir), for the loss detector. */
  lossPaths(): Iterable<readonly [key: string, path: string]>;
  /** True if the disk matches what the events said for `key` (see loss-detector.ts). */
  consistent(key: string): Promise<boolean | undefined>;
  /** Rescans `key` after lost events: the root's listing, or one type directory. */
  resync(key: string): void;
  /** Events delivered so far by every watch of the tree (the loss detector's activity cue). */
  events(): number;
  /** True while componentsDir is not watched because it is missing (its parent is watched). */
  rootMissing(): boolean;
  close(): void;
}

/** A name the index may hold: what a full scan lists (library/component-index.ts) and events report. */
const indexable = (path: string, name: string, stateDir: string) => !name.startsWith('.') && !isJitdTemp(name) && !isIgnored(path, stateDir);

const code = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;
const GONE = new Set(['ENOENT', 'ENOTDIR']);

export function watchComponentDirs(o: DirWatchOptions): DirWatch {
  const root = o.componentsDir;
  const typeDirs = new Map<string, FSWatcher>();
  let rootWatcher: FSWatcher | undefined;
  let parentWatcher: FSWatcher | undefined;
  let closed = false;
  /** Events delivered by every watch so far. */
  let delivered = 0;
  /** Type directories whose watch could not be started or died (not: the directory is gone). */
  const failed = new Set<string>();

  const fail = (err: unknown) => {
    if (!closed) o.onError(err instanceof Error ? err : new Error(String(err)));
  };

  /** Runs `check` for `key`, never two at once; a request during a run runs it once more after. */
  const running = new Map<string, boolean>();
  const serially = (key: string, check: () => Promise<void>): void => {
    if (running.has(key)) {
      running.set(key, true);
      return;
    }
    running.set(key, false);
    void (async () => {
      try {
        do {
          running.set(key, false);
          if (closed) return;
          await check().catch(fail);
        } while (running.get(key));
      } finally {
        running.delete(key);
      }
    })();
  };

  /**
   * Starts fs.watch on `path`; answers undefined if it is gone or the watch failed. A failure
   * (at start or later) is reported, and `onDead` lets the caller mark the directory for rearm().
   */
  const startWatch = (path: string, listener: (event: string, name: string | null) => void, onDead?: () => void): FSWatcher | undefined => {
    try {
      const w = watch(path, { persistent: true, encoding: 'utf8' }, (event, name) => {
        delivered++;
        listener(event, name);
      });
      w.on('error', (err) => {
        if (GONE.has(code(err) ?? '')) return; // the directory went away; its parent's event handles it
        onDead?.();
        fail(err);
      });
      return w;
    } catch (err) {
      if (GONE.has(code(err) ?? '')) return undefined;
      onDead?.();
      fail(err);
      return undefined;
    }
  };

  // --- a type directory -----------------------------------------------------------------------

  const watchTypeDir = (dirName: string): void => {
    typeDirs.get(dirName)?.close();
    typeDirs.delete(dirName);
    failed.delete(dirName);
    const dir = join(root, dirName);
    const dead = () => {
      typeDirs.get(dirName)?.close();
      typeDirs.delete(dirName);
      failed.add(dirName);
    };
    const w = startWatch(
      dir,
      (event, name) => {
        if (closed) return;
        if (!name) {
          o.onTypeDir(dirName);
          return;
        }
        if (event !== 'rename') return;
        const path = join(dir, name);
        if (isCookie(path)) {
          o.onCookie(name);
          return;
        }
        // Only what a full scan would list: a hidden file reported here would sit in the index
        // until the next rescan drops it again.
        if (!indexable(path, name, o.stateDir)) return;
        serially(path, async () => {
          let present = false;
          try {
            const st = await lstat(path);
            present = st.isFile() || st.isSymbolicLink();
            // As in a full scan: a symlink under a generated name pointing outside is not a component.
            if (st.isSymbolicLink() && isGeneratedName(name)) present = !(await escapes(path));
          } catch (err) {
            if (!GONE.has(code(err) ?? '')) throw err;
          }
          if (!closed) o.onComponent(dirName, name, present);
        });
      },
      dead,
    );
    if (w) typeDirs.set(dirName, w);
  };

  /** Is `componentsDir/name` a directory (through a symlink too, as chokidar followed them)? */
  const isDir = async (path: string): Promise<boolean> => {
    try {
      return (await stat(path)).isDirectory();
    } catch (err) {
      if (GONE.has(code(err) ?? '') || code(err) === 'ELOOP') return false;
      throw err;
    }
  };

  /** Does `path` resolve outside componentsDir (a symlink pointing out, or one that loops)? */
  const escapes = async (path: string): Promise<boolean> => {
    try {
      return (await escapesRoot(nodeFs, root, path)) !== undefined;
    } catch (err) {
      if (GONE.has(code(err) ?? '')) return false;
      if (code(err) === 'ELOOP') return true;
      throw err;
    }
  };

  /** A directory to watch: a real one, or a symlink to one that stays inside componentsDir. */
  const isTypeDir = async (path: string, isLink: boolean): Promise<boolean> => (await isDir(path)) && !(isLink && (await escapes(path)));

  /** Looks at one entry of componentsDir after an event for it. */
  const checkRootEntry = (name: string): void => {
    const path = join(root, name);
    serially(path, async () => {
      const link = (await lstat(path).catch(() => undefined))?.isSymbolicLink() ?? false;
      if (await isTypeDir(path, link)) {
        watchTypeDir(name); // (re)watch: the name may now be a different directory
        if (!closed) o.onTypeDir(name);
        return;
      }
      const w = typeDirs.get(name);
      failed.delete(name);
      if (w) {
        w.close();
        typeDirs.delete(name);
        if (!closed) o.onTypeDir(name);
      }
      // componentsDir itself gone (its own deletion is reported under its base name)?
      if (name === basename(root) && !(await isDir(root))) lostRoot();
    });
  };

  // --- componentsDir ----------------------------------------------------------------------------

  /** Lists componentsDir and watches every directory in it; answers the names watched. */
  const scanRoot = async (): Promise<string[]> => {
    let entries;
    try {
      entries = await readdir(root, { withFileTypes: true });
    } catch (err) {
      if (GONE.has(code(err) ?? '')) return [];
      throw err;
    }
    const names: string[] = [];
    for (const e of entries) {
      if (closed) break;
      const path = join(root, e.name);
      if (isCookie(path) || isIgnored(path, o.stateDir)) continue;
      if (e.isDirectory() || (e.isSymbolicLink() && (await isTypeDir(path, true)))) {
        watchTypeDir(e.name);
        names.push(e.name);
      }
    }
    return names;
  };

  const onRootEvent = (_event: string, name: string | null): void => {
    if (closed) return;
    if (!name) {
      serially(root, rescanRoot);
      return;
    }
    const path = join(root, name);
    if (isCookie(path)) {
      o.onCookie(name);
      return;
    }
    if (isIgnored(path, o.stateDir)) return;
    checkRootEntry(name);
  };

  /** The root's listing may have changed in ways no event named: rewatch and rescan everything. */
  const rescanRoot = async (): Promise<void> => {
    const before = new Set(typeDirs.keys());
    for (const w of typeDirs.values()) w.close();
    typeDirs.clear();
    const now = await scanRoot();
    for (const name of new Set([...before, ...now])) if (!closed) o.onTypeDir(name);
  };

  /** componentsDir is missing: wait for it in its parent (one more watch), then start over. */
  const lostRoot = (): void => {
    rootWatcher?.close();
    rootWatcher = undefined;
    if (!closed) o.onRoot?.(false);
    for (const [name, w] of typeDirs) {
      w.close();
      if (!o.onRoot) o.onTypeDir(name);
    }
    typeDirs.clear();
    if (closed || parentWatcher) return;
    parentWatcher = startWatch(dirname(root), (_event, name) => {
      if (closed || (name !== null && name !== basename(root))) return;
      checkReturn();
    });
  };

  /** Is componentsDir back (after its parent's event, or the loss detector's look)? Then start over. */
  const checkReturn = (): void =>
    serially(`${root}\0parent`, async () => {
      if (rootWatcher || !(await isDir(root))) return;
      parentWatcher?.close();
      parentWatcher = undefined;
      await startRoot();
      if (!rootWatcher || closed) return; // gone again meanwhile: startRoot waits once more
      if (o.onRoot) o.onRoot(true);
      else for (const n of typeDirs.keys()) o.onTypeDir(n);
    });

  const startRoot = async (): Promise<void> => {
    // The root's watch comes first, so no type directory created during the scan is missed.
    rootWatcher = startWatch(root, onRootEvent);
    if (!rootWatcher) {
      lostRoot();
      return;
    }
    await scanRoot();
  };

  const ready = startRoot().catch(fail);

  return {
    ready,
    watched: () => typeDirs.size + (rootWatcher ? 1 : 0) + (parentWatcher ? 1 : 0),
    async rearm() {
      if (closed) return 0;
      if (!rootWatcher && !parentWatcher) await startRoot();
      for (const name of [...failed]) {
        if (!(await isDir(join(root, name)))) {
          failed.delete(name); // gone meanwhile: nothing to watch
          continue;
        }
        watchTypeDir(name);
        if (typeDirs.has(name) && !closed) o.onTypeDir(name); // events were lost while unwatched
      }
      return failed.size + (rootWatcher || parentWatcher ? 0 : 1);
    },
    *lossPaths() {
      if (!rootWatcher) {
        // Waiting for the root in its parent: that one event may be lost too.
        if (parentWatcher) yield ['..', dirname(root)] as const;
        return;
      }
      yield ['.', root] as const;
      for (const name of typeDirs.keys()) yield [name, join(root, name)] as const;
      for (const name of failed) yield [name, join(root, name)] as const;
    },
    async consistent(key) {
      if (key === '..') return rootWatcher !== undefined || !(await isDir(root));
      if (key === '.') {
        // Every directory in the root is watched (or known failed), and nothing watched is gone.
        let entries;
        try {
          entries = await readdir(root, { withFileTypes: true });
        } catch {
          return undefined;
        }
        const dirs = new Set<string>();
        for (const e of entries) {
          const path = join(root, e.name);
          if (e.isSymbolicLink() && !typeDirs.has(e.name) && !failed.has(e.name)) continue; // may point outside: not watched by design
          if ((e.isDirectory() || e.isSymbolicLink()) && !isCookie(path) && !isIgnored(path, o.stateDir)) dirs.add(e.name);
        }
        for (const name of dirs) if (!typeDirs.has(name) && !failed.has(name)) return false;
        for (const name of typeDirs.keys()) if (!dirs.has(name)) return false;
        return true;
      }
      // Only `<type>s` directories are indexed (as the full scan reads them).
      if (!o.known || key.startsWith('.') || !key.endsWith('s')) return true;
      const dir = join(root, key);
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return undefined;
      }
      const known = o.known(key);
      let listed = 0;
      for (const e of entries) {
        if (!(e.isFile() || e.isSymbolicLink()) || !indexable(join(dir, e.name), e.name, o.stateDir)) continue;
        // A symlink under a generated name may be refused (pointing outside): not judged here.
        if (e.isSymbolicLink() && isGeneratedName(e.name)) {
          if (known?.has(e.name)) listed++;
          continue;
        }
        if (!known?.has(e.name)) return false;
        listed++;
      }
      let expected = 0;
      for (const name of known ?? []) if (indexable(join(dir, name), name, o.stateDir)) expected++;
      return listed === expected;
    },
    resync(key) {
      if (closed) return;
      if (key === '..') checkReturn();
      else if (key === '.') serially(root, rescanRoot);
      else o.onTypeDir(key);
    },
    rootMissing: () => !rootWatcher,
    events: () => delivered,
    close() {
      closed = true;
      rootWatcher?.close();
      parentWatcher?.close();
      for (const w of typeDirs.values()) w.close();
      typeDirs.clear();
    },
  };
}
