/**
 * The request store: one JSON file per request under `<stateDir>/requests/`, cached in memory.
 * Keeps invariant 3 ("an answer is never lost"): {@link RequestStore.save} with `durable`
 * returns only after the record is on disk (durable put), and the socket acknowledges an answer
 * only after that. A record that cannot be read is moved aside under `quarantine/`, reported,
 * never silently dropped.
 */
import { startGenerating, startInstalling } from './transitions.js';
import { join } from 'node:path';
import { durablePut, syncDirOrDie } from '../fsio/durable-put.js';
import { ensureDurableDir, inDurableDir } from '../fsio/durable-dir.js';
import { hasCode, readdirOrEmpty, type FsLayer } from '../fsio/fs-layer.js';
import { isJitdTemp } from '../fsio/temp-files.js';
import { RequestSchema, type Request } from './request.js';

export interface LoadReport {
  loaded: number;
  /** Records that did not parse, moved to `quarantine/requests/`. */
  quarantined: string[];
}

export class RequestStore {
  readonly dir: string;
  private readonly byId = new Map<string, Request>();

  constructor(
    private readonly fs: FsLayer,
    stateDir: string,
  ) {
    this.dir = join(stateDir, 'requests');
    this.quarantineDir = join(stateDir, 'quarantine', 'requests');
  }
  private readonly quarantineDir: string;

  /** Reads every record from disk into memory (start-up, and full reconcile). */
  async load(): Promise<LoadReport> {
    await ensureDurableDir(this.fs, this.dir, 0o700);
    this.byId.clear();
    const report: LoadReport = { loaded: 0, quarantined: [] };
    for (const entry of await readdirOrEmpty(this.fs, this.dir)) {
      if (entry.kind !== 'file' || !entry.name.endsWith('.json') || isJitdTemp(entry.name)) continue;
      const path = join(this.dir, entry.name);
      let record: Request | undefined;
      try {
        const parsed = RequestSchema.safeParse(JSON.parse((await this.fs.readFile(path)).toString('utf8')));
        if (parsed.success && `${parsed.data.id}.json` === entry.name) record = parsed.data;
      } catch (err) {
        if (hasCode(err, 'ENOENT')) continue;
        if (!(err instanceof SyntaxError)) throw err;
      }
      if (!record) {
        await ensureDurableDir(this.fs, this.quarantineDir, 0o700);
        await this.fs.rename(path, join(this.quarantineDir, `${entry.name}.${Date.now()}`));
        report.quarantined.push(path);
        continue;
      }
      // In-flight states are never on disk by design; normalise anything older.
      if (record.state === 'generating' || record.state === 'installing') record.state = 'answered';
      this.byId.set(record.id, record);
      report.loaded++;
    }
    if (report.quarantined.length) {
      await syncDirOrDie(this.fs, this.dir);
      await syncDirOrDie(this.fs, this.quarantineDir);
    }
    return report;
  }

  get(id: string): Request | undefined {
    return this.byId.get(id);
  }

  /** Finds by full id or by a unique prefix of at least 4 digits, as git does. */
  resolve(idOrPrefix: string): Request | 'ambiguous' | undefined {
    const exact = this.byId.get(idOrPrefix);
    if (exact || idOrPrefix.length < 4) return exact;
    const hits = [...this.byId.values()].filter((r) => r.id.startsWith(idOrPrefix));
    if (hits.length > 1) return 'ambiguous';
    return hits[0];
  }

  all(): Request[] {
    return [...this.byId.values()];
  }

  /**
   * Writes a record. Durable records (answers, rejections, failures) survive a power cut;
   * `durable: false` still goes through the same put, but skips the directory fsync, for
   * facts the reconciler can re-derive (a request created or marked done).
   */
  async save(record: Request, opts: { durable: boolean }): Promise<void> {
    const next = { ...record, updatedAt: new Date().toISOString() };
    // In-flight states stay in memory only (see request.ts).
    const onDisk = next.state === 'generating' || next.state === 'installing' ? { ...next, state: 'answered' as const } : next;
    const put = () =>
      durablePut(this.fs, join(this.dir, `${next.id}.json`), `${JSON.stringify(onDisk)}\n`, {
        mode: 'replace',
        fileMode: 0o600,
        deferDirSync: !opts.durable,
      });
    // `requests/` removed while jitd runs (rm -rf .jitd): it is made again, with every record
    // jitd holds, so no answer is lost at the next start (invariant 3).
    await inDurableDir(this.fs, this.dir, 0o700, put, () => this.rewriteAll(next.id));
    this.byId.set(next.id, next);
  }

  /**
   * Makes `requests/` again if it is gone (the state directory removed while jitd runs), with
   * every record held in memory written back durably; answers the directories made.
   */
  async restoreDir(): Promise<string[]> {
    const made = await ensureDurableDir(this.fs, this.dir, 0o700);
    // Stryker: equivalent — `if (true)` and another `except`: every save writes through, so rewriting
    // what is there puts the same records back; no id is "Stryker was here!" (ids are 12 hex digits)
    if (made.length) await this.rewriteAll('');
    return made;
  }

  /** Writes every record held in memory but `except` into a `requests/` made again, durably. */
  private async rewriteAll(except: string): Promise<void> {
    for (const r of this.byId.values()) {
      if (r.id === except) continue; // Stryker: equivalent — `if (false)`: the save's own put follows and writes the newer record over it
      const onDisk = r.state === 'generating' || r.state === 'installing' ? { ...r, state: 'answered' as const } : r;
      // Stryker: equivalent — `deferDirSync: false` (one fsync more; the directory is fsynced below)
      await durablePut(this.fs, join(this.dir, `${r.id}.json`), `${JSON.stringify(onDisk)}\n`, { mode: 'replace', fileMode: 0o600, deferDirSync: true });
    }
    await syncDirOrDie(this.fs, this.dir);
  }

  /** Updates the in-memory state only (generating/installing are never persisted). */
  setTransient(id: string, state: 'generating' | 'installing'): void {
    const r = this.byId.get(id);
    if (r) this.byId.set(id, state === 'generating' ? startGenerating(r) : startInstalling(r));
  }

  /** Deletes a record (a withdrawn waiting request). */
  async remove(id: string): Promise<void> {
    try {
      await this.fs.unlink(join(this.dir, `${id}.json`));
    } catch (err) {
      if (!hasCode(err, 'ENOENT')) throw err;
    }
    this.byId.delete(id);
  }
}
