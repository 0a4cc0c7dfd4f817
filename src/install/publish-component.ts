/**
 * Publishing a generated component (the first half of an install, invariant 1): the file is
 * created — never clobbering — complete and durable at `<componentsDir>/<type>s/<generatedName>`
 * before any map entry may point at it. Until the map is repointed nothing reads it, and the
 * reconciler adopts it (rolls the install forward) or handles it as an orphan after a crash.
 *
 * When the output is staged (already fsynced) on the same file system, the component is a hard
 * link to the staged file: create-only like the put, and its data needs no second write or
 * fsync — only the directory entry, which the caller makes durable. Elsewhere (EXDEV: the state
 * directory on another file system) it is written with a durable put.
 */
import { dirname } from 'node:path';
import { durablePut, syncDirOrDie } from '../fsio/durable-put.js';
import { ensureDurableDir } from '../fsio/durable-dir.js';
import { DiskWriteError, TargetExistsError } from '../fsio/errors.js';
import { hasCode, lstatOrNull, type FsLayer } from '../fsio/fs-layer.js';
import { componentPath, escapesRoot, UnsafePathError } from '../library/paths.js';

export type PublishOutcome = 'published' | 'existed';

/**
 * Publishes the staged file at `path` by link(2). Answers false where a link cannot be made
 * (another file system, a file system without hard links, the staged file gone): the caller
 * writes the content instead. Throws TargetExistsError if `path` exists, as a create-only put.
 */
async function linkStaged(fs: FsLayer, staged: string, path: string): Promise<boolean> {
  try {
    await fs.link(staged, path);
    return true;
  } catch (err) {
    if (hasCode(err, 'EEXIST')) throw new TargetExistsError(path);
    if (hasCode(err, 'EXDEV', 'EPERM', 'EMLINK', 'ENOENT', 'ENOTSUP', 'EOPNOTSUPP')) return false;
    throw new DiskWriteError(path, err);
  }
}

/**
 * Durably creates the component. If a file of that name already exists (a person, or an earlier
 * attempt that crashed after publishing), it is kept and adopted: 'existed'. With `deferDirSync`
 * the directory fsync is left to the caller, who must make it before anything points at the file
 * (a batch syncs each directory once).
 */
export async function publishComponent(
  fs: FsLayer,
  componentsDir: string,
  type: string,
  name: string,
  content: string,
  opts: { deferDirSync?: boolean; stagedFrom?: string } = {},
): Promise<PublishOutcome> {
  const path = componentPath(componentsDir, type, name);
  const escape = await escapesRoot(fs, componentsDir, path);
  if (escape) throw new UnsafePathError(escape);
  await ensureDurableDir(fs, dirname(path), 0o755);
  try {
    if (!(opts.stagedFrom && (await linkStaged(fs, opts.stagedFrom, path)))) {
      await durablePut(fs, path, content, { mode: 'create', fileMode: 0o644, ...(opts.deferDirSync ? { deferDirSync: true } : {}) });
    } else if (!opts.deferDirSync) {
      await syncDirOrDie(fs, dirname(path));
    }
    return 'published';
  } catch (err) {
    if (!(err instanceof TargetExistsError)) throw err;
    // Adopted only if it is a file: a directory, FIFO or dangling link there is no component.
    const st = await lstatOrNull(fs, path);
    if (st?.kind === 'file') return 'existed';
    throw new UnsafePathError(`${path} exists and is not a regular file (${st?.kind ?? 'vanished'}); move it away and retry`);
  }
}
