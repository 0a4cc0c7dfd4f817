/**
 * Durable put: the one way jitd publishes a file (invariant 5, "durable, not just atomic").
 *
 * The protocol, in the spirit of Git's lockfile.h:
 *
 *   1. create   an exclusive temp file beside the target (`.jitd-tmp.*`, O_EXCL);
 *   2. write    the whole buffer, looping over short writes (a write that makes no progress is
 *               an error, never a silent truncation — write-file-atomic 7 gets this wrong);
 *   3. fsync    the temp file: its bytes are on disk before any name points at them;
 *   4. publish  rename(temp, target) to replace, or link(temp, target) to create without
 *               clobbering (EEXIST leaves the existing file alone), then unlink the temp; a
 *               guarded replace (`beforePublish` answers an identity) exchanges the two names
 *               instead and answers the version it replaced, held open (fs-layer.ts `Replaced`);
 *   5. fsync    the directory: the new name survives a power cut.
 *
 * A crash before 4 leaves only a temp file (swept by the reconciler); after 4 the target is
 * complete. A failed fsync throws {@link FsyncFailedError}, which is fatal for the daemon.
 * Any other failure removes the temp file and throws {@link DiskWriteError}.
 */
import { dirname } from 'node:path';
import { DiskWriteError, FsyncFailedError, TargetChangedError, TargetExistsError } from './errors.js';
import { hasCode, type FsLayer, type Replaced, type WritableFile } from './fs-layer.js';
import { liveTemps, tempPathFor } from './temp-files.js';

export interface PutOptions {
  /** `replace` renames over an existing target; `create` links and fails if it exists. */
  mode: 'replace' | 'create';
  /** Permission bits of the new file (before umask). */
  fileMode?: number;
  /** Set exactly these bits, umask notwithstanding (keeping a person's file's mode on replace). */
  exactMode?: number;
  /** Skip the directory fsync (the caller batches it with {@link syncDirOrDie}). */
  deferDirSync?: boolean;
  /**
   * Runs after the temp file is durable and just before it is published; throwing aborts the
   * put (the temp is removed) — the map commit uses it to re-check for a person's save. It may
   * answer the identity (`StatInfo.identity`, fs-layer.ts) the target must still have at the rename:
   * if it no longer does, nothing is published and the put throws {@link TargetChangedError}.
   */
  beforePublish?: () => Promise<string | void>;
}

/** Writes every byte of `data`, looping over short writes; zero progress is ENOSPC. */
async function writeAll(file: WritableFile, data: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const n = await file.write(data, offset, data.length - offset);
    if (n <= 0) {
      throw Object.assign(new Error('no space left on device (write made no progress)'), { code: 'ENOSPC' });
    }
    offset += n;
  }
}

/** fsync of a directory; a failure is fatal (see FsyncFailedError). */
export async function syncDirOrDie(fs: FsLayer, dir: string): Promise<void> {
  try {
    await fs.syncDir(dir);
  } catch (err) {
    throw new FsyncFailedError(dir, err);
  }
}

/**
 * Publishes `data` at `target` durably (see the module header for the protocol). A guarded
 * replace answers what it replaced; the caller must close `kept`.
 */
export async function durablePut(fs: FsLayer, target: string, data: Uint8Array | string, opts: PutOptions): Promise<Replaced | undefined> {
  const temp = tempPathFor(target);
  try {
    return await put(fs, target, temp, data, opts);
  } finally {
    liveTemps.delete(temp);
  }
}

async function put(fs: FsLayer, target: string, temp: string, data: Uint8Array | string, opts: PutOptions): Promise<Replaced | undefined> {
  // Stryker: `typeof data === 'string'` → true and `'utf8'` → `''` are equivalent — Buffer.from
  // copies a Uint8Array byte for byte, and its default encoding is utf8.
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let file: WritableFile;
  try {
    file = await fs.createExclusive(temp, opts.fileMode ?? 0o644);
  } catch (err) {
    throw new DiskWriteError(target, err);
  }
  let published = false;
  let replaced: Replaced | undefined;
  try {
    try {
      if (opts.exactMode !== undefined) await file.chmod(opts.exactMode);
      await writeAll(file, bytes);
    } catch (err) {
      throw new DiskWriteError(target, err);
    }
    try {
      await file.sync();
    } catch (err) {
      throw new FsyncFailedError(target, err);
    }
    await file.close().catch(() => undefined);
    const identity = await opts.beforePublish?.();
    try {
      if (opts.mode === 'replace') {
        if (identity) replaced = await fs.renameIfUnchanged(temp, target, identity);
        else await fs.rename(temp, target);
        published = true; // Stryker: → false is equivalent, for the reason given in the catch below.
      } else {
        await fs.link(temp, target);
      }
    } catch (err) {
      if (hasCode(err, 'EEXIST')) throw new TargetExistsError(target);
      if (hasCode(err, 'ETARGETCHANGED')) throw new TargetChangedError(target);
      throw new DiskWriteError(target, err);
    }
  } catch (err) {
    await file.close().catch(() => undefined);
    // Nothing in the try throws once `published` is set. Stryker: so `if (true)` here is an
    // equivalent mutant; the flag keeps a later edit from unlinking a published name.
    if (!published) await fs.unlink(temp).catch(() => undefined);
    throw err;
  }
  if (opts.mode === 'create') {
    // The link made the target; the temp name is now just a second name for the same inode.
    await fs.unlink(temp).catch(() => undefined);
  }
  if (!opts.deferDirSync) {
    try {
      await syncDirOrDie(fs, dirname(target));
    } catch (err) {
      await replaced?.kept?.close().catch(() => undefined);
      throw err;
    }
  }
  return replaced;
}
