/**
 * Noticing lost events. The kernel drops inotify events when its queue overflows (a daemon
 * stopped or starved while thousands of files arrive) and says so with IN_Q_OVERFLOW, which
 * node's `fs.watch` never surfaces. So the watcher cannot tell it missed something; the disk can.
 *
 * Every `periodMs` the detector takes one synchronous stat of each watched path (the components
 * root, each type directory, the map) — no readdir, no file stat: on a library of 100,000
 * components that is a few hundred stats, well under a millisecond of CPU per period. A path
 * whose stat (inode, mtime, size) changed since the last look and then stayed the same for a
 * whole period has settled: the watcher has had a period to deliver its events, so the caller
 * compares what it was told with the disk (`consistent`: one readdir of that directory, against
 * the index). A difference means events were lost: `onLoss` rescans that one path. A change whose
 * events all arrived costs one readdir of its directory once it settles.
 *
 * Looks are made only while events flow, and for a while after (`hotMs`), plus one slow look
 * every `coldMs`: an overflow cannot happen without a flood of events — the kernel hands over the
 * full queue (16,384 events by default) before the events it dropped — so a quiet library, where
 * losses cannot happen, costs nothing but the timer (measured: BENCHMARKS.md, P8).
 */
import { statSync } from 'node:fs';

export interface LossDetectorOptions {
  periodMs: number;
  /** The paths to look at this period, each under a stable key. */
  paths(): Iterable<readonly [key: string, path: string]>;
  /**
   * True if what the watcher reported for `key` matches the disk now; called once `key` changed
   * and then stayed unchanged for a whole period. `undefined`: cannot tell now (look again).
   */
  consistent(key: string): Promise<boolean | undefined>;
  /** Events for `key` were lost: rescan it. */
  onLoss(key: string): void;
  onError(err: Error): void;
  /** Events delivered so far (any count that grows with every event); without it, always hot. */
  events?(): number;
  /** How long after the last event looks go on every period; default 10 periods. */
  hotMs?: number;
  /** Period of the slow look while no event comes; default {@link COLD_MS}. */
  coldMs?: number;
}

/** The slow look of a quiet library: a last resort only (see the module header). */
const COLD_MS = 60_000;

/** What `jitctl status` shows of the detector. */
export interface LossDetectorStatus {
  /** How often the watched paths are looked at. */
  periodMs: number;
  /** Times a settled change did not match what the watcher had reported (events were lost). */
  noticed: number;
  /** When the last loss was noticed (ISO) and where (the last few keys). */
  lastNoticedAt?: string;
  lastNoticed?: string[];
}

export interface LossDetector {
  status(): LossDetectorStatus;
  /** One look, hot or not (the timer's work while events flow; tests call it directly). */
  tick(): Promise<void>;
  close(): void;
}

interface Mark {
  /** The stat signature at the previous look. */
  prev: string;
  /** The signature last found consistent (or rescanned). */
  checked: string;
}

const LAST_KEPT = 8;

function signature(path: string): string | undefined {
  try {
    const st = statSync(path, { throwIfNoEntry: false });
    return st ? `${st.ino}:${st.mtimeMs}:${st.size}` : undefined;
  } catch {
    return undefined; // unreadable now: the watcher's own error path reports it
  }
}

export function startLossDetector(o: LossDetectorOptions): LossDetector {
  const marks = new Map<string, Mark>();
  let noticed = 0;
  let lastNoticedAt: string | undefined;
  const lastNoticed: string[] = [];
  let running = false;
  let closed = false;

  const tick = async (): Promise<void> => {
    if (running || closed) return;
    running = true;
    try {
      const settled: [string, string, Mark, string][] = [];
      const seen = new Set<string>();
      for (const [key, path] of o.paths()) {
        seen.add(key);
        const sig = signature(path);
        if (sig === undefined) {
          marks.delete(key);
          continue;
        }
        const m = marks.get(key);
        if (!m) {
          // First look: the watcher's own start (or its rescan of a new directory) covers it.
          marks.set(key, { prev: sig, checked: sig });
          continue;
        }
        if (sig !== m.prev)
          m.prev = sig; // still changing, or just changed: wait one period
        else if (sig !== m.checked) settled.push([key, path, m, sig]);
      }
      for (const key of marks.keys()) if (!seen.has(key)) marks.delete(key);
      for (const [key, path, m, sig] of settled) {
        if (closed) return;
        const ok = await o.consistent(key);
        if (ok === undefined) continue;
        // Changed again while being compared: judge it once it settles again.
        if (signature(path) !== sig) continue;
        m.checked = sig;
        if (ok) continue;
        noticed++;
        lastNoticedAt = new Date().toISOString();
        lastNoticed.push(key);
        if (lastNoticed.length > LAST_KEPT) lastNoticed.shift();
        o.onLoss(key);
      }
    } catch (err) {
      o.onError(err instanceof Error ? err : new Error(String(err)));
    } finally {
      running = false;
    }
  };

  // The first look is taken now, not a period from now: a change in between (the daemon stopped
  // right after start-up) is then a change to judge, not the reference.
  for (const [key, path] of o.paths()) {
    const sig = signature(path);
    if (sig !== undefined) marks.set(key, { prev: sig, checked: sig });
  }
  // periodMs 0: no timer (the caller, a test, calls tick() itself).
  const hotMs = o.hotMs ?? 10 * o.periodMs;
  const coldMs = o.coldMs ?? COLD_MS;
  let seenEvents = o.events?.() ?? 0;
  // Cold at start: the start-up scan is the reference, and events during it are covered by it.
  let hotUntil = 0;
  let lastLook = Date.now();
  const onTimer = () => {
    const t = Date.now();
    const n = o.events?.();
    if (n === undefined || n !== seenEvents) hotUntil = t + hotMs;
    if (n !== undefined) seenEvents = n;
    if (t > hotUntil && t - lastLook < coldMs) return;
    lastLook = t;
    void tick();
  };
  const timer = o.periodMs > 0 ? setInterval(onTimer, o.periodMs) : undefined;
  timer?.unref();

  return {
    status: () => ({
      periodMs: o.periodMs,
      noticed,
      ...(lastNoticedAt ? { lastNoticedAt, lastNoticed: [...lastNoticed] } : {}),
    }),
    tick,
    close() {
      closed = true;
      if (timer) clearInterval(timer);
    },
  };
}
