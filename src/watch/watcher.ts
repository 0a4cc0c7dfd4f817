/**
 * Watching the map's directory and the component tree. Events are hints, never data: each one
 * makes the engine read the disk. The map's directory is watched with chokidar at depth 0; the
 * component tree (`<componentsDir>/<type>s/<file>`) with one non-recursive `fs.watch` per
 * directory (dir-watch.ts): chokidar 5 spends an inotify watch, a stat and a handle per file,
 * which on a library of 100,000 components costs hundreds of MB, seconds of start-up and most of
 * the inotify watch limit (measured in BENCHMARKS.md, P3/P4/P6).
 *
 * - Map events call `onMap` at once (a save that parses is acted on immediately) and arm a
 *   trailing re-check after `debounceMs`: chokidar 5 emits the first `change` of a burst and
 *   swallows the rest for 50 ms with no trailing event (chokidar #1455).
 * - A component created or removed calls `onComponent`; a type directory added or removed (or
 *   an event that names nothing) calls `onTypeDir`, which rescans that one directory.
 * - `error` (ENOSPC/EMFILE from inotify among them) calls `onError`; the daemon answers with a
 *   full reconcile, and status reports it. Node's watcher drops the kernel's overflow signal,
 *   so the daemon also reconciles periodically: lost events are expected, not exceptional.
 * - Cookies (`syncCookie`) let `status --sync` wait until the watcher has caught up, as
 *   watchman does.
 */
import { randomBytes } from 'node:crypto';
import { writeFile, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { WatcherStatus } from '../ipc/context.js';
import { watchComponentDirs, type DirWatch } from './dir-watch.js';
import { COOKIE_PREFIX, isCookie } from './ignore-rules.js';

export interface WatchTargets {
  mapFile: string;
  componentsDir: string;
  stateDir: string;
  debounceMs: number;
}

export interface WatchHandlers {
  onMap(): void;
  onComponent(dirName: string, name: string, present: boolean): void;
  onTypeDir(dirName: string): void;
  onError(err: Error): void;
}

export interface LibraryWatcher {
  /** Resolves when both trees are watched. */
  ready: Promise<void>;
  status(): WatcherStatus;
  /** Resolves once events for every change made before the call have been delivered. */
  syncCookie(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export function startWatcher(t: WatchTargets, h: WatchHandlers): LibraryWatcher {
  const mapDir = dirname(t.mapFile);
  const cookies = new Map<string, () => void>();
  let lastError: string | undefined;
  let isReady = false;
  let trailing: NodeJS.Timeout | undefined;

  const seeCookie = (path: string): boolean => {
    if (!isCookie(path)) return false;
    cookies.get(basename(path))?.();
    return true;
  };
  const onError = (err: unknown) => {
    lastError = (err as Error).message ?? String(err);
    h.onError(err as Error);
  };
  const mapHint = () => {
    h.onMap();
    if (trailing) clearTimeout(trailing);
    trailing = setTimeout(() => h.onMap(), t.debounceMs);
    trailing.unref();
  };

  const mapWatcher: FSWatcher = watch(mapDir, {
    ignoreInitial: true,
    depth: 0,
    // Only the map itself and cookies matter here; the directory may hold the config and more.
    ignored: (p: string) => p !== mapDir && p !== t.mapFile && !isCookie(p),
  });
  mapWatcher.on('all', (event, path) => {
    if (seeCookie(path)) return;
    if (path === t.mapFile && (event === 'add' || event === 'change' || event === 'unlink')) mapHint();
  });
  mapWatcher.on('error', onError);

  // The component tree: one inotify watch per directory (dir-watch.ts), not one per file.
  const tree: DirWatch = watchComponentDirs({
    componentsDir: t.componentsDir,
    stateDir: t.stateDir,
    onComponent: (dir, name, present) => h.onComponent(dir, name, present),
    onTypeDir: (dir) => h.onTypeDir(dir),
    onCookie: (name) => void seeCookie(join(t.componentsDir, name)),
    onError,
  });

  const readyOf = (w: FSWatcher) => new Promise<void>((res) => w.once('ready', () => res()));
  const ready = Promise.all([readyOf(mapWatcher), tree.ready]).then(() => {
    isReady = true;
  });

  async function cookieIn(dir: string, timeoutMs: number): Promise<void> {
    const name = `${COOKIE_PREFIX}${randomBytes(6).toString('hex')}`;
    const path = join(dir, name);
    const seen = new Promise<void>((res) => {
      const timer = setTimeout(res, timeoutMs); // never hang a client on a watcher that died
      cookies.set(name, () => {
        clearTimeout(timer);
        res();
      });
    });
    try {
      await writeFile(path, '');
      await seen;
    } finally {
      cookies.delete(name);
      await unlink(path).catch(() => undefined);
    }
  }

  return {
    ready,
    status: () => ({
      backend: 'chokidar (map) + fs.watch per directory (components)',
      ready: isReady,
      ...(lastError ? { error: lastError, fallback: 'full reconcile after each watcher error, and periodically' } : {}),
    }),
    async syncCookie(timeoutMs = 5000) {
      await ready;
      await Promise.all([cookieIn(mapDir, timeoutMs), cookieIn(t.componentsDir, timeoutMs)]);
    },
    async close() {
      if (trailing) clearTimeout(trailing);
      tree.close();
      await mapWatcher.close();
    },
  };
}
