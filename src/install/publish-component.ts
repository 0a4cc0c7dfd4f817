/**
 * Publishing a generated component (the first half of an install, invariant 1): the file is
 * created — never clobbering — complete and durable at `<componentsDir>/<type>s/<generatedName>`
 * before any map entry may point at it. Its own final path is the durable staging area: until
 * the map is repointed nothing reads it, and the reconciler adopts it (rolls the install
 * forward) or handles it as an orphan after a crash.
 */
import { dirname } from 'node:path';
import { durablePut } from '../fsio/durable-put.js';
import { ensureDurableDir } from '../fsio/durable-dir.js';
import { TargetExistsError } from '../fsio/errors.js';
import { lstatOrNull, type FsLayer } from '../fsio/fs-layer.js';
import { componentPath, escapesRoot, UnsafePathError } from '../library/paths.js';

export type PublishOutcome = 'published' | 'existed';

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
  opts: { deferDirSync?: boolean } = {},
): Promise<PublishOutcome> {
  const path = componentPath(componentsDir, type, name);
  const escape = await escapesRoot(fs, componentsDir, path);
  if (escape) throw new UnsafePathError(escape);
  await ensureDurableDir(fs, dirname(path), 0o755);
  try {
    await durablePut(fs, path, content, { mode: 'create', fileMode: 0o644, ...(opts.deferDirSync ? { deferDirSync: true } : {}) });
    return 'published';
  } catch (err) {
    if (!(err instanceof TargetExistsError)) throw err;
    // Adopted only if it is a file: a directory, FIFO or dangling link there is no component.
    const st = await lstatOrNull(fs, path);
    if (st?.kind === 'file') return 'existed';
    throw new UnsafePathError(`${path} exists and is not a regular file (${st?.kind ?? 'vanished'}); move it away and retry`);
  }
}
