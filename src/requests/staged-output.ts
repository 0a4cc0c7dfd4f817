/**
 * Staged model output (invariant 3: a crash after generation does not pay for a second call).
 *
 * The moment a model call returns, its text is durable-put to `<stateDir>/staged/<id>.txt`,
 * before it waits for the install lane (which may be busy with a long reconcile, or parked for
 * hours behind a map that does not parse). An answered request with a staged output is installed
 * from it — at the next start, after a failed install, on `jitctl retry` — and the model is not
 * asked again.
 *
 * Once the request is done the file stays, as the request's kept output (contract §3: an answer, once
 * given, is jitd's for good): when the map names the original file again (an older commit, a
 * branch switch) the reopened request is filled from it, and a generated file the map names again
 * is restored from it — no model call, nobody asked. The install publishes the component as a hard
 * link to this file, so while the component exists its kept output costs no disk space. Kept
 * outputs are bounded ({@link KEEP_LIMITS}: the newest by the time their request was closed);
 * outputs still owed to an install are never pruned.
 *
 * A staged file is complete or absent (durable put: temp, fsync, rename, directory fsync), so
 * its presence alone says the output is whole.
 */
import { join } from 'node:path';
import { durablePut, syncDirOrDie } from '../fsio/durable-put.js';
import { ensureDurableDir, inDurableDir } from '../fsio/durable-dir.js';
import { hasCode, lstatOrNull, readdirOrEmpty, readFileOrNull, type FsLayer } from '../fsio/fs-layer.js';
import { isJitdTemp } from '../fsio/temp-files.js';

const SUFFIX = '.txt';

/** Bounds on kept outputs of done requests: at most this many, and this many bytes together. */
export const KEEP_LIMITS = { count: 1000, bytes: 64 * 1024 * 1024 };

export class StagedOutputs {
  /** `<stateDir>/staged`. */
  readonly dir: string;
  private readonly ids = new Set<string>();
  /** The directory fsync not yet started, which puts that renamed meanwhile join. */
  private nextSync: Promise<void> | undefined;
  private runningSync: Promise<void> | undefined;

  constructor(
    private readonly fs: FsLayer,
    stateDir: string,
  ) {
    this.dir = join(stateDir, 'staged');
  }

  /** Where `id`'s output is staged (whether or not it is). */
  pathOf(id: string): string {
    return join(this.dir, `${id}${SUFFIX}`);
  }

  /**
   * Lists what is staged (start-up, with the lock held). A temp left by a crash mid-staging is
   * not an output; the reconciler's sweep removes it.
   */
  async load(): Promise<void> {
    await ensureDurableDir(this.fs, this.dir, 0o700);
    this.ids.clear();
    for (const e of await readdirOrEmpty(this.fs, this.dir)) {
      if (e.kind === 'file' && e.name.endsWith(SUFFIX) && !isJitdTemp(e.name)) this.ids.add(e.name.slice(0, -SUFFIX.length));
    }
  }

  /** Makes `staged/` again if it is gone (what it held is lost); answers the directories made. */
  async restoreDir(): Promise<string[]> {
    const made = await ensureDurableDir(this.fs, this.dir, 0o700);
    if (made.length) this.ids.clear();
    return made;
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  get size(): number {
    return this.ids.size;
  }

  /** Makes `content` durable as request `id`'s output; resolves once it is on disk. */
  async put(id: string, content: string): Promise<void> {
    // The component's own mode: the install may publish this very inode by a hard link (the
    // directory, 0700, keeps it private until then).
    // `staged/` removed while jitd runs: made again (the outputs it held are gone; their
    // requests are generated again when installed from nothing).
    await inDurableDir(
      this.fs,
      this.dir,
      0o700,
      () => durablePut(this.fs, this.pathOf(id), content, { mode: 'replace', fileMode: 0o644, deferDirSync: true }),
      async () => {
        this.ids.clear();
      },
    );
    await this.syncDir();
    this.ids.add(id);
  }

  /**
   * Group commit of the directory fsync: one started after a put's rename covers that rename, so
   * puts that finish while a sync runs share the next one (outputs of concurrent model calls, a
   * burst of installs) instead of paying one each (measured: BENCHMARKS.md, P2).
   */
  private syncDir(): Promise<void> {
    this.nextSync ??= (async () => {
      await this.runningSync?.catch(() => undefined);
      this.nextSync = undefined;
      this.runningSync = syncDirOrDie(this.fs, this.dir);
      try {
        await this.runningSync;
      } finally {
        this.runningSync = undefined;
      }
    })();
    return this.nextSync;
  }

  /** The staged output of `id`, or undefined if there is none (or it vanished). */
  async read(id: string): Promise<string | undefined> {
    if (!this.ids.has(id)) return undefined;
    const bytes = await readFileOrNull(this.fs, this.pathOf(id));
    if (!bytes) this.ids.delete(id);
    return bytes?.toString('utf8');
  }

  /**
   * Forgets `id`'s output. Not made durable: a file that survives a power cut belongs to a
   * request that is done, and the next prune removes it.
   */
  async remove(id: string): Promise<void> {
    if (!this.ids.delete(id)) return;
    await this.fs.unlink(this.pathOf(id)).catch((err: unknown) => {
      if (!hasCode(err, 'ENOENT')) throw err;
    });
  }

  /**
   * Removes what no request needs. `owed(id)`: the output is still to be installed — never
   * removed. `keptSince(id)`: for an output kept after its request was done, when it was done
   * (ISO time; undefined: its request is gone or answered anew, so it goes). Kept outputs beyond
   * `limits` go, oldest first. Answers the ids removed.
   */
  async prune(owed: (id: string) => boolean, keptSince: (id: string) => string | undefined = () => undefined, limits = KEEP_LIMITS): Promise<string[]> {
    const removed: string[] = [];
    const kept: { id: string; since: string }[] = [];
    for (const id of [...this.ids]) {
      if (owed(id)) continue;
      const since = keptSince(id);
      if (since !== undefined) {
        kept.push({ id, since });
        continue;
      }
      await this.remove(id);
      removed.push(id);
    }
    kept.sort((a, b) => (a.since < b.since ? 1 : a.since > b.since ? -1 : 0));
    let bytes = 0;
    for (const [i, { id }] of kept.entries()) {
      if (i < limits.count) {
        bytes += (await lstatOrNull(this.fs, this.pathOf(id)))?.size ?? 0;
        if (bytes <= limits.bytes) continue;
      }
      await this.remove(id);
      removed.push(id);
    }
    return removed;
  }
}
