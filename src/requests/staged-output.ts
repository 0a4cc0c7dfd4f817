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
 *
 * Provenance travels with the output in a sidecar, `<id>.json` (requests/provenance.ts: provider,
 * model, server, usage, candidate, who approved), put durably *before* the text, so a staged text
 * always has its provenance on disk whatever a crash or power cut cuts short. The sidecar names
 * its text by SHA-256: one written for an earlier output of the same request (or left by a crash
 * before its text arrived) does not match and is ignored. The text stays a bare file (the install
 * links it as the component), so staged files of an older jitd, without a sidecar, read as before:
 * their provenance is unknown.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { durablePut, syncDirOrDie } from '../fsio/durable-put.js';
import { ensureDurableDir, inDurableDir } from '../fsio/durable-dir.js';
import { hasCode, lstatOrNull, readdirOrEmpty, readFileOrNull, type FsLayer } from '../fsio/fs-layer.js';
import { isJitdTemp } from '../fsio/temp-files.js';
import { OutputProvenanceSchema, type OutputProvenance } from './provenance.js';

const SUFFIX = '.txt';
const SIDECAR = '.json';

/** The sidecar: the provenance and the SHA-256 of the text it belongs to. */
const SidecarSchema = OutputProvenanceSchema.extend({ sha256: z.string() });
const textSha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

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

  /** Where `id`'s provenance sidecar is (whether or not it is). */
  provenancePathOf(id: string): string {
    return join(this.dir, `${id}${SIDECAR}`);
  }

  /**
   * Lists what is staged (start-up, with the lock held). A temp left by a crash mid-staging is
   * not an output; the reconciler's sweep removes it. A sidecar whose text never arrived goes.
   */
  async load(): Promise<void> {
    await ensureDurableDir(this.fs, this.dir, 0o700);
    this.ids.clear();
    const sidecars: string[] = []; // Stryker: equivalent — an extra id's `<id>.json` is absent (ENOENT is ignored) or a lone sidecar anyway
    for (const e of await readdirOrEmpty(this.fs, this.dir)) {
      if (e.kind !== 'file' || isJitdTemp(e.name)) continue;
      if (e.name.endsWith(SUFFIX)) this.ids.add(e.name.slice(0, -SUFFIX.length));
      // Stryker: equivalent — `else if (true)`: another name's id names a `.json` that is absent or itself a lone sidecar
      else if (e.name.endsWith(SIDECAR)) sidecars.push(e.name.slice(0, -SIDECAR.length));
    }
    for (const id of sidecars) if (!this.ids.has(id)) await this.unlinkQuietly(this.provenancePathOf(id));
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

  /**
   * Makes `content` durable as request `id`'s output, with its `provenance` durable first (see the
   * module header; without one, an earlier sidecar is removed); resolves once both are on disk.
   */
  async put(id: string, content: string, provenance?: OutputProvenance): Promise<void> {
    if (provenance) {
      const sidecar = `${JSON.stringify({ ...provenance, sha256: textSha256(content) })}\n`;
      await this.inDir(() => durablePut(this.fs, this.provenancePathOf(id), sidecar, { mode: 'replace', fileMode: 0o600, deferDirSync: true }));
      await this.syncDir();
    } else {
      await this.unlinkQuietly(this.provenancePathOf(id));
    }
    // The component's own mode: the install may publish this very inode by a hard link (the
    // directory, 0700, keeps it private until then).
    await this.inDir(() => durablePut(this.fs, this.pathOf(id), content, { mode: 'replace', fileMode: 0o644, deferDirSync: true }));
    await this.syncDir();
    this.ids.add(id);
  }

  /**
   * The provenance of `id`'s staged output, or undefined: none staged, no sidecar (an older jitd),
   * or a sidecar of another text. `content`: the staged text, when the caller has it in hand.
   */
  async provenance(id: string, content?: string): Promise<OutputProvenance | undefined> {
    return (await this.sidecar(id, content))?.provenance;
  }

  /**
   * The provenance of `id`'s staged output and the SHA-256 of that text as jitd staged it, when
   * the sidecar matches the text now (else undefined). The restart's close of an install a crash
   * cut short takes the hash from here: the component is a hard link to this file, so a person's
   * in-place edit of the component changes this text too, and then the hashes differ and nothing
   * is vouched for (a later regeneration treats the file as the person's).
   */
  async sidecar(id: string, content?: string): Promise<{ provenance: OutputProvenance; sha256: string } | undefined> {
    let text: string | undefined, bytes: Buffer | undefined;
    try {
      text = content ?? (await this.read(id));
      if (text === undefined) return undefined;
      bytes = await readFileOrNull(this.fs, this.provenancePathOf(id));
    } catch {
      return undefined; // provenance is never worth failing an install or a reconcile for. Stryker: equivalent — an empty block leaves bytes undefined, answered below
    }
    if (!bytes) return undefined; // Stryker: equivalent — `if (false)`: bytes.toString throws in the try below, which answers undefined
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch {
      return undefined; // Stryker: equivalent — an empty block leaves json undefined, which the schema rejects
    }
    const parsed = SidecarSchema.safeParse(json);
    if (!parsed.success || parsed.data.sha256 !== textSha256(text)) return undefined;
    const { sha256, ...provenance } = parsed.data;
    return { provenance, sha256 };
  }

  /** Runs a put in `staged/`, made again if it is gone (the outputs it held are gone; their requests are generated again). */
  private async inDir(put: () => Promise<unknown>): Promise<void> {
    await inDurableDir(this.fs, this.dir, 0o700, put, async () => {
      this.ids.clear();
    });
  }

  private async unlinkQuietly(path: string): Promise<void> {
    await this.fs.unlink(path).catch((err: unknown) => {
      if (!hasCode(err, 'ENOENT')) throw err;
    });
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
        this.runningSync = undefined; // Stryker: equivalent — an empty block: the next sync awaits a settled promise, one tick
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
    await this.unlinkQuietly(this.pathOf(id));
    await this.unlinkQuietly(this.provenancePathOf(id));
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
    // Stryker: equivalent — `false ? 1 :` and `<=`: Array.prototype.sort (V8's TimSort) only asks whether the answer is below 0
    // (as Python's listsort, only `<`; the guard test of 90 outputs, merged runs and ties, passes with either)
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
