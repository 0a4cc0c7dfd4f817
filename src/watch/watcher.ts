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
 *   swallows the rest for 50 ms with no trailing event (chokidar #1455). While the map is not a
 *   regular file, its path is also polled (see checkMapKind).
 * - A component created or removed calls `onComponent`; a type directory added or removed (or
 *   an event that names nothing) calls `onTypeDir`, which rescans that one directory.
 * - `error` (ENOSPC/EMFILE from inotify among them) calls `onError`; the daemon answers with a
 *   full reconcile, and status reports it. Node's watcher drops the kernel's overflow signal,
 *   so lost events are expected, not exceptional: every LOSS_CHECK_MS the lost-event detector
 *   (loss-detector.ts) stats the map and each watched directory, and a change that settled
 *   without matching what the events said is rescanned (`onLoss`, then `onTypeDir`/`onMap`);
 *   the daemon's periodic full reconcile remains the last resort.
 * - Cookies (`syncCookie`) let `status --sync` wait until the watcher has caught up, as
 *   watchman does. They are jitd temps by name: one left by a killed daemon is swept by the
 *   next start-up reconcile.
 */
import { randomBytes } from 'node:crypto';
import { lstat, writeFile, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { liveTemps } from '../fsio/temp-files.js';
import { watchComponentDirs, type DirWatch } from './dir-watch.js';
import { startLossDetector, type LossDetector, type LossDetectorStatus } from './loss-detector.js';
import { COOKIE_PREFIX, isCookie } from './ignore-rules.js';

/** Polling of a map that is not a regular file: first after max(debounceMs, this), doubling... */
const MAP_POLL_MIN_MS = 100;
/** ...up to this. */
const MAP_POLL_MAX_MS = 2000;

/** The watcher's health, as `jitctl status` shows it. */
export interface WatcherStatus {
  /** e.g. `chokidar` */
  backend: string;
  ready: boolean;
  /** The last watcher error (ENOSPC/EMFILE from inotify...), if any. */
  error?: string;
  /** What jitd does instead while the watcher is impaired (e.g. periodic rescans). */
  fallback?: string;
  /** Directories still unwatched after the last try to watch them again. */
  unwatched?: number;
  /** The lost-event detector (loss-detector.ts): how often it looks, what it noticed. */
  lossDetector?: LossDetectorStatus;
  /** True while componentsDir is missing (moved away, removed): its parent is watched for it. */
  componentsMissing?: boolean;
}

/** The library's directories, as `jitctl status` shows them (contract §4.7). */
export interface TreeStatus {
  /** componentsDir: `available`, or why not (then nothing is requested or installed: jitd waits). */
  components: string;
  /** stateDir: `available`, or why not (moved away: jitd waits; removed: it is made again). */
  state: string;
  /** Directories jitd made again after they vanished while it ran. */
  recreated: { path: string; at: string; times: number }[];
}

export interface WatchTargets {
  mapFile: string;
  componentsDir: string;
  stateDir: string;
  debounceMs: number;
  /** Period of the lost-event detector (0: off); default {@link LOSS_CHECK_MS}. */
  lossCheckMs?: number;
}

/** How often the watched directories and the map are looked at for changes no event reported. */
export const LOSS_CHECK_MS = 2000;

export interface WatchHandlers {
  onMap(): void;
  onComponent(dirName: string, name: string, present: boolean): void;
  onTypeDir(dirName: string): void;
  onError(err: Error): void;
  /** componentsDir vanished or came back (dir-watch.ts). */
  onRoot?(present: boolean): void;
  /** The files the engine knows in a type directory, for the lost-event detector. */
  known?(dirName: string): ReadonlySet<string> | undefined;
  /** The detector noticed lost events for `what` (a type directory, `.` the root, `map`). */
  onLoss?(what: string): void;
}

export interface LibraryWatcher {
  /** Resolves when both trees are watched. */
  ready: Promise<void>;
  status(): WatcherStatus;
  /** Resolves once events for every change made before the call have been delivered. */
  syncCookie(timeoutMs?: number): Promise<void>;
  /**
   * Tries again to watch the directories whose watch failed; answers how many are still
   * unwatched (0: healthy again, and the error is cleared from `status`).
   */
  rearm(): Promise<number>;
  close(): Promise<void>;
}

export function startWatcher(t: WatchTargets, h: WatchHandlers): LibraryWatcher {
  const mapDir = dirname(t.mapFile);
  const cookies = new Map<string, () => void>();
  let lastError: string | undefined;
  /** Directories whose watch failed, as of the last rearm(). */
  let unwatched = 0;
  let isReady = false;
  let trailing: NodeJS.Timeout | undefined;

  const readyOf = (w: FSWatcher) => new Promise<void>((res) => w.once('ready', () => res()));
  const seeCookie = (path: string): boolean => {
    if (!isCookie(path)) return false;
    cookies.get(basename(path))?.();
    return true;
  };
  const onError = (err: unknown) => {
    lastError = (err as Error).message ?? String(err);
    h.onError(err as Error);
  };
  /** Map events seen, and their count at the detector's last comparison. */
  let mapEvents = 0;
  let mapEventsChecked = 0;
  const mapHint = () => {
    mapEvents++;
    h.onMap();
    if (trailing) clearTimeout(trailing);
    trailing = setTimeout(() => h.onMap(), t.debounceMs);
    trailing.unref();
  };

  // While the map is not a regular file (missing, a directory, a FIFO, a symlink) its path is
  // polled, with back-off: chokidar can lose track of a path that turns from a file into a
  // directory and back (the file's unlink arrives after the directory's addDir, and from then on
  // nothing is reported for that path, later saves included), so the event that would end the
  // outage may never arrive. Once the map is a regular file again, the map's watcher is started
  // afresh and the map read.
  let kindTimer: NodeJS.Timeout | undefined;
  let closed = false;
  const isRegularMap = async (): Promise<boolean> => {
    try {
      return (await lstat(t.mapFile)).isFile();
    } catch {
      return false; // missing or unreadable: not usable either way; keep looking
    }
  };
  const checkMapKind = async (): Promise<void> => {
    if (kindTimer || closed || (await isRegularMap())) return;
    let delay = Math.max(t.debounceMs, MAP_POLL_MIN_MS);
    const poll = async () => {
      kindTimer = undefined;
      if (closed) return;
      if (await isRegularMap()) {
        await restartMapWatcher();
        return;
      }
      delay = Math.min(delay * 2, MAP_POLL_MAX_MS);
      arm();
    };
    const arm = () => {
      if (closed || kindTimer) return;
      kindTimer = setTimeout(() => void poll(), delay);
      kindTimer.unref();
    };
    arm();
  };

  const startMapWatcher = (): FSWatcher => {
    const w = watch(mapDir, {
      ignoreInitial: true,
      depth: 0,
      // Only the map itself and cookies matter here; the directory may hold the config and more.
      ignored: (p: string) => p !== mapDir && p !== t.mapFile && !isCookie(p),
    });
    w.on('all', (_event, path) => {
      if (seeCookie(path)) return;
      if (path !== t.mapFile) return;
      // Every kind of event counts, addDir and unlinkDir too: the map may have become a directory.
      mapHint();
      void checkMapKind();
    });
    w.on('error', onError);
    return w;
  };
  let mapWatcher: FSWatcher = startMapWatcher();
  const restartMapWatcher = async (): Promise<void> => {
    if (closed) return;
    const old = mapWatcher;
    mapWatcher = startMapWatcher();
    await old.close();
    await readyOf(mapWatcher);
    if (!closed) mapHint(); // whatever changed while no watcher was ready
  };

  // The component tree: one inotify watch per directory (dir-watch.ts), not one per file.
  const tree: DirWatch = watchComponentDirs({
    componentsDir: t.componentsDir,
    stateDir: t.stateDir,
    onComponent: (dir, name, present) => h.onComponent(dir, name, present),
    onTypeDir: (dir) => h.onTypeDir(dir),
    onCookie: (name) => void seeCookie(join(t.componentsDir, name)),
    onError,
    ...(h.onRoot ? { onRoot: h.onRoot } : {}),
    ...(h.known ? { known: h.known } : {}),
  });

  // Lost events: the map (any change brings at least one event) and every watched directory.
  const MAP_KEY = '\0map';
  let detector: LossDetector | undefined;
  const startDetector = () => {
    detector = startLossDetector({
      periodMs: t.lossCheckMs ?? LOSS_CHECK_MS,
      *paths() {
        yield [MAP_KEY, t.mapFile] as const;
        yield* tree.lossPaths();
      },
      async consistent(key) {
        if (key !== MAP_KEY) return tree.consistent(key);
        const ok = mapEvents !== mapEventsChecked;
        mapEventsChecked = mapEvents;
        return ok;
      },
      onLoss(key) {
        h.onLoss?.(key === MAP_KEY ? 'map' : key);
        if (key === MAP_KEY) mapHint();
        else tree.resync(key);
      },
      onError,
      events: () => mapEvents + tree.events(),
    });
  };

  const ready = Promise.all([readyOf(mapWatcher), tree.ready]).then(() => {
    isReady = true;
    if (!closed) startDetector();
    void checkMapKind(); // a map that is not a regular file at start is watched the same way
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
    // A reconcile's temp sweep must not remove a cookie while its event is awaited.
    liveTemps.add(path);
    try {
      await writeFile(path, '');
      await seen;
    } finally {
      cookies.delete(name);
      await unlink(path).catch(() => undefined);
      liveTemps.delete(path);
    }
  }

  return {
    ready,
    status: () => ({
      backend: 'chokidar (map) + fs.watch per directory (components)',
      ready: isReady,
      ...(lastError
        ? {
            error: lastError,
            fallback: 'full reconcile after each watcher error, then every 30 s (and a new try to watch) until every directory is watched again',
          }
        : {}),
      ...(unwatched ? { unwatched } : {}),
      ...(detector ? { lossDetector: detector.status() } : {}),
      ...(tree.rootMissing() ? { componentsMissing: true } : {}),
    }),
    async rearm() {
      unwatched = await tree.rearm();
      if (unwatched === 0) lastError = undefined;
      return unwatched;
    },
    async syncCookie(timeoutMs = 5000) {
      await ready;
      // A components tree that is away has no events to wait for (and no place for a cookie).
      await Promise.all([cookieIn(mapDir, timeoutMs), ...(tree.rootMissing() ? [] : [cookieIn(t.componentsDir, timeoutMs)])]);
    },
    async close() {
      closed = true;
      detector?.close();
      if (trailing) clearTimeout(trailing);
      if (kindTimer) clearTimeout(kindTimer);
      tree.close();
      await mapWatcher.close();
    },
  };
}
