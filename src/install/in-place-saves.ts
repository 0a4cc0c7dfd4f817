/**
 * In-place saves through an earlier file descriptor (invariant 4: a person's save is never lost).
 *
 * An editor that saves in place (vim with `backupcopy=yes`, any editor on a file under /tmp)
 * does open(O_WRONLY), ftruncate, write on the file it opened. If jitd publishes the map between
 * that open and the write, the write lands in the version jitd just replaced — which has no name
 * any more — and the person's save would vanish. So every version jitd's map commit replaces is
 * held open for a grace period ({@link GRACE_MS}) and watched (an fstat every {@link POLL_MS});
 * when it changes, jitd waits until it has been still for {@link SETTLE_MS}, reads it, and
 * re-applies it on the serial lane:
 *
 *   - the person's text becomes the map, with jitd's repoints (of the commit that replaced it
 *     and every later one) applied on top by the same byte-exact edit, only where the entry
 *     still names the missing file and the generated file is there;
 *   - published through the same guarded commit (exchange), and only while the map on disk is
 *     still jitd's last publish: a newer save on the path is never overwritten. Then, or if the
 *     publish fails, the recovered text is written durably to `<stateDir>/recovered/` and
 *     reported (log, event, `jitctl status`), never dropped.
 *
 * The kept version is held by an open descriptor, not a name: a crash (or SIGKILL) of jitd
 * leaves nothing behind to clean up — and loses a write made through such a descriptor after
 * the crash, exactly as before. A write after the grace period is lost likewise. (A hard link
 * under the state directory would survive a crash, but only where the state directory is on the
 * map's file system, and a restarted jitd could not tell the person's write from its own.)
 *
 * The map commit finds the watcher for its (file-system layer, map) through {@link inPlaceSavesFor}:
 * the engine registers one for the daemon's map; anything else (tools, tests) closes the kept
 * version at once, as before.
 */
import { basename, join } from 'node:path';
import { durablePut } from '../fsio/durable-put.js';
import { ensureDurableDir } from '../fsio/durable-dir.js';
import { FsyncFailedError } from '../fsio/errors.js';
import { lstatOrNull, type FsLayer, type KeptFile, type Replaced } from '../fsio/fs-layer.js';
import { parseGoalMap } from '../library/goal-map.js';
import { componentPath } from '../library/paths.js';
import { editMapBytes, type EntryEdit } from './map-edit.js';
import { readMapBytes } from './map-file.js';

/**
 * How long a replaced version is watched. An in-place save writes within milliseconds of its
 * open; the grace covers a save stalled by a slow disk, a swapping machine or a paused process
 * many times over, while holding at most one descriptor per map write for it.
 */
export const GRACE_MS = 10_000;
/** fstat interval: one cheap syscall per kept version; a save is seen within this. */
export const POLL_MS = 50;
/** A kept version is read once unchanged for this long (an editor's write, fsync and close). */
export const SETTLE_MS = 200;
/** Versions watched at once, at most (a burst of installs): the oldest is let go first. */
const MAX_KEPT = 64;

/** What became of a recovered in-place save. */
export type InPlaceOutcome = { outcome: 'reapplied'; bytes: number; repoints: number } | { outcome: 'kept-aside'; bytes: number; path: string; reason: string };

export interface InPlaceSavesOptions {
  fs: FsLayer;
  mapFile: string;
  componentsDir: string;
  stateDir: string;
  /** Runs a re-apply on the caller's serial lane (the map's writer). */
  schedule(what: string, job: () => Promise<void>): void;
  /** Each recovered save, after it is published or kept aside. */
  onRecovered?(o: InPlaceOutcome): void;
  /** Errors of the watch itself (a read of the kept version failing). */
  onError?(err: unknown): void;
  graceMs?: number;
  pollMs?: number;
  settleMs?: number;
}

/** One map write of jitd's: what it changed, for re-applying on top of a recovered save. */
interface CommitRecord {
  seq: number;
  repoints: readonly EntryEdit[];
}

interface Watch {
  kept: KeptFile;
  /** The replaced version's identity and content when it was replaced. */
  seen: string;
  content: Buffer;
  /** Sequence number of the commit that replaced it: its repoints and later ones are re-applied. */
  seq: number;
  until: number;
  changedAt: number | undefined;
  busy: boolean;
}

const registry = new WeakMap<FsLayer, Map<string, InPlaceSaves>>();

/** The watcher registered for `mapFile` on `fs`, if any (see the module header). */
export function inPlaceSavesFor(fs: FsLayer, mapFile: string): InPlaceSaves | undefined {
  return registry.get(fs)?.get(mapFile);
}

export class InPlaceSaves {
  private readonly watches = new Set<Watch>();
  private commits: CommitRecord[] = [];
  private seq = 0;
  /** Identity of jitd's last publish of the map: a re-apply replaces only that. */
  private lastPublished: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly grace: number;
  private readonly poll: number;
  private readonly settle: number;
  /** Counts for `jitctl status`. */
  readonly counts = { detected: 0, reapplied: 0, keptAside: 0 };

  constructor(private readonly o: InPlaceSavesOptions) {
    this.grace = o.graceMs ?? GRACE_MS;
    this.poll = o.pollMs ?? POLL_MS;
    this.settle = o.settleMs ?? SETTLE_MS;
    let forFs = registry.get(o.fs);
    if (!forFs) registry.set(o.fs, (forFs = new Map()));
    forFs.set(o.mapFile, this);
  }

  /** Status: saves recovered so far and versions watched now. */
  stats() {
    return { ...this.counts, watching: this.watches.size };
  }

  /**
   * A map commit published `published` over the version with identity `replacedIdentity` and
   * content `replacedContent`, applying `repoints`. Takes ownership of `replaced.kept`.
   */
  noteCommit(replaced: Replaced, replacedIdentity: string, replacedContent: Buffer, repoints: readonly EntryEdit[]): void {
    const seq = ++this.seq;
    this.lastPublished = replaced.published;
    this.commits.push({ seq, repoints });
    if (!replaced.kept) return;
    if (this.stopped) {
      void replaced.kept.close().catch(() => undefined);
      return;
    }
    if (this.watches.size >= MAX_KEPT) {
      const oldest = [...this.watches].find((w) => !w.busy);
      if (oldest) void this.drop(oldest);
    }
    this.watches.add({
      kept: replaced.kept,
      seen: replacedIdentity,
      content: replacedContent,
      seq,
      until: Date.now() + this.grace,
      changedAt: undefined,
      busy: false,
    });
    this.timer ??= setInterval(() => void this.tick(), this.poll).unref();
  }

  /**
   * Lets every kept version go (the daemon stops, its lane drained): a save already made into
   * one is re-applied first. A version whose re-apply is on the lane already (a poll scheduled
   * it after the drain) stays open for it: that re-apply lets it go (the daemon drains the lane
   * again after this).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    // Stryker: `if (this.timer)` → true is equivalent — clearInterval(undefined) does nothing.
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const w of [...this.watches]) {
      if (w.busy) continue;
      const id = await w.kept.identity().catch(() => w.seen);
      if (id === w.seen && w.changedAt === undefined) continue;
      w.seen = id;
      await this.recover(w);
    }
    await Promise.all([...this.watches].filter((w) => !w.busy).map((w) => this.drop(w)));
    const forFs = registry.get(this.o.fs);
    // Stryker: `forFs?.` → `forFs.` is equivalent — the constructor registered this layer's map, never removed.
    if (forFs?.get(this.o.mapFile) === this) forFs.delete(this.o.mapFile);
  }

  /** Stops watching `w` and closes it (resolves once closed). */
  private drop(w: Watch): Promise<void> {
    this.watches.delete(w);
    const closed = w.kept.close().catch(() => undefined);
    // Commits older than every watched version are needed no more. Stryker: keeping more of them
    // (`this.seq - 1`, no filter, the filter → true) is equivalent but for memory — editsFor
    // skips every commit older than the version's own.
    const oldest = Math.min(...[...this.watches].map((x) => x.seq), this.seq + 1);
    this.commits = this.commits.filter((c) => c.seq >= oldest);
    if (!this.watches.size && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    return closed;
  }

  private ticking = false;
  private async tick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    try {
      const now = Date.now();
      for (const w of [...this.watches]) {
        if (w.busy) continue;
        let id: string;
        try {
          id = await w.kept.identity();
        } catch (err) {
          this.o.onError?.(err);
          void this.drop(w);
          continue;
        }
        if (id !== w.seen) {
          if (w.changedAt === undefined) this.counts.detected++;
          w.seen = id;
          w.changedAt = now;
          // A save seen late in the grace still gets its full settle and re-apply.
          w.until = Math.max(w.until, now + this.settle + this.poll);
          // Stryker: `w.changedAt !== undefined` → true is equivalent — `now - undefined` is NaN, never >= settle.
        } else if (w.changedAt !== undefined && now - w.changedAt >= this.settle) {
          w.busy = true;
          this.o.schedule('re-applying an in-place save', () => this.recover(w));
        } else if (now >= w.until) {
          void this.drop(w);
        }
      }
    } finally {
      this.ticking = false;
    }
  }

  /** On the lane: reads the settled kept version and publishes it with jitd's repoints on top. */
  private async recover(w: Watch): Promise<void> {
    try {
      const before = w.seen;
      const text = await w.kept.read();
      if ((await w.kept.identity()) !== before) return; // still being written: the next tick sees it
      w.changedAt = undefined;
      if (text.equals(w.content)) return;
      w.content = text;
      const outcome = await this.reapply(text, w.seq);
      if (outcome.outcome === 'reapplied') this.counts.reapplied++;
      else this.counts.keptAside++;
      this.o.onRecovered?.(outcome);
    } catch (err) {
      if (err instanceof FsyncFailedError) throw err;
      this.o.onError?.(err);
    } finally {
      w.busy = false;
      if (this.stopped) await this.drop(w);
    }
  }

  /** Publishes `text` (+ jitd's repoints since commit `seq`) if the map is still jitd's last publish; else keeps it aside. */
  private async reapply(text: Buffer, seq: number): Promise<InPlaceOutcome> {
    const { fs, mapFile } = this.o;
    const edits = await this.editsFor(text, seq);
    const next = edits.length ? editMapBytes(text, edits).bytes : text;
    const repoints = edits.length;
    const st = await lstatOrNull(fs, mapFile);
    // Stryker: `st.kind !== 'file'` → false is equivalent — a symlink or directory at the path has
    // an identity of its own, never that of jitd's last publish (a file).
    if (!st || st.kind !== 'file' || st.identity !== this.lastPublished) {
      return this.keepAside(text, st ? 'the map was saved again meanwhile; that newer save is kept' : 'the map is gone');
    }
    const current = await readMapBytes(fs, mapFile);
    if (current.equals(next)) return { outcome: 'reapplied', bytes: text.length, repoints };
    try {
      const replaced = await durablePut(fs, mapFile, next, {
        mode: 'replace',
        fileMode: 0o644,
        exactMode: st.mode,
        beforePublish: async () => {
          // The same guard as the map commit: nothing but jitd's last publish is replaced.
          const a = (await fs.lstat(mapFile)).identity;
          if (a !== this.lastPublished || !(await readMapBytes(fs, mapFile)).equals(current) || (await fs.lstat(mapFile)).identity !== a) {
            // Stryker: `{ code: … }` → `{}` and its string → "" are equivalent — the catch below
            // uses only the message.
            throw Object.assign(new Error('the map changed'), { code: 'ETARGETCHANGED' });
          }
          return a;
        },
      });
      // Stryker: `if (replaced)` → true is equivalent — beforePublish always answers an identity,
      // so the guarded replace always answers what it replaced.
      if (replaced) this.noteCommit(replaced, st.identity, current, edits);
      return { outcome: 'reapplied', bytes: text.length, repoints };
    } catch (err) {
      if (err instanceof FsyncFailedError) throw err;
      return this.keepAside(text, `could not publish it: ${(err as Error).message}`);
    }
  }

  /** jitd's repoints since commit `seq` that still apply to the person's text. */
  private async editsFor(text: Buffer, seq: number): Promise<EntryEdit[]> {
    let json: Record<string, unknown>;
    try {
      json = parseGoalMap(text.toString('utf8')).json;
    } catch {
      return []; // not a map jitd can read: it is the person's save all the same, published as written
    }
    const out: EntryEdit[] = [];
    for (const c of this.commits) {
      if (c.seq < seq) continue;
      for (const r of c.repoints) {
        const goal = json[r.goal];
        if (typeof goal !== 'object' || goal === null || (goal as Record<string, unknown>)[r.type] !== r.from) continue;
        const target = await lstatOrNull(this.o.fs, componentPath(this.o.componentsDir, r.type, r.to));
        if (target?.kind !== 'file' && target?.kind !== 'symlink') continue;
        if (!out.some((e) => e.goal === r.goal && e.type === r.type)) out.push(r);
      }
    }
    return out;
  }

  private recoveredNo = 0;
  /** Writes the recovered text durably under `<stateDir>/recovered/` and answers where. */
  private async keepAside(text: Buffer, reason: string): Promise<InPlaceOutcome> {
    const dir = join(this.o.stateDir, 'recovered');
    await ensureDurableDir(this.o.fs, dir, 0o700);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    for (;;) {
      const path = join(dir, `${basename(this.o.mapFile)}.${stamp}.${++this.recoveredNo}`);
      try {
        await durablePut(this.o.fs, path, text, { mode: 'create', fileMode: 0o600 });
        return { outcome: 'kept-aside', bytes: text.length, path, reason };
      } catch (err) {
        if ((err as { code?: string }).code !== 'EEXIST') throw err;
      }
    }
  }
}
