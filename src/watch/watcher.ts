/**
 * Watching the map's directory and the component tree with chokidar. Events are hints, never
 * data: each one makes the engine read the disk. Two chokidar instances, because the two trees
 * need different depths: the map's directory at depth 0, the components at depth 1
 * (`<componentsDir>/<type>s/<file>`).
 *
 * - Map events call `onMap` at once (a save that parses is acted on immediately) and arm a
 *   trailing re-check after `debounceMs`: chokidar 5 emits the first `change` of a burst and
 *   swallows the rest for 50 ms with no trailing event (chokidar #1455).
 * - Component add/unlink call `onComponent`; a type directory added/removed calls `onTypeDir`.
 * - `error` (ENOSPC/EMFILE from inotify among them) calls `onError`; the daemon answers with a
 *   full reconcile, and status reports it. Node's watcher drops the kernel's overflow signal,
 *   so the daemon also reconciles periodically: lost events are expected, not exceptional.
 * - Cookies (`syncCookie`) let `status --sync` wait until the watcher has caught up, as
 *   watchman does.
 */
import { randomBytes } from 'node:crypto';
import { writeFile, unlink } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { WatcherStatus } from '../ipc/context.js';
import { COOKIE_PREFIX, isCookie, isIgnored } from './ignore-rules.js';

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

  const compWatcher: FSWatcher = watch(t.componentsDir, {
    ignoreInitial: true,
    depth: 1,
    ignored: (p: string) => isIgnored(p, t.stateDir),
  });
  compWatcher.on('all', (event, path) => {
    if (seeCookie(path)) return;
    const parts = relative(t.componentsDir, path).split(sep);
    if (parts.length === 2 && (event === 'add' || event === 'unlink')) {
      h.onComponent(parts[0] as string, parts[1] as string, event === 'add');
    } else if (parts.length === 1 && parts[0] && (event === 'addDir' || event === 'unlinkDir')) {
      h.onTypeDir(parts[0]);
    }
  });
  compWatcher.on('error', onError);

  const readyOf = (w: FSWatcher) => new Promise<void>((res) => w.once('ready', () => res()));
  const ready = Promise.all([readyOf(mapWatcher), readyOf(compWatcher)]).then(() => {
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
      backend: 'chokidar',
      ready: isReady,
      ...(lastError ? { error: lastError, fallback: 'full reconcile after each watcher error, and periodically' } : {}),
    }),
    async syncCookie(timeoutMs = 5000) {
      await ready;
      await Promise.all([cookieIn(mapDir, timeoutMs), cookieIn(t.componentsDir, timeoutMs)]);
    },
    async close() {
      if (trailing) clearTimeout(trailing);
      await Promise.all([mapWatcher.close(), compWatcher.close()]);
    },
  };
}
