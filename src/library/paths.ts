/**
 * Where a map entry's component lives, and the guarantee that it never resolves outside
 * `componentsDir` (invariant 6). Names are checked by `names.ts`; symlinks are checked here by
 * resolving the real path of whatever exists on the way.
 */
import { join, relative, isAbsolute } from 'node:path';
import { hasCode, type FsLayer } from '../fsio/fs-layer.js';
import { filenameProblem, typeProblem } from './names.js';
import { JitdError } from '../fsio/errors.js';

export class UnsafePathError extends JitdError {
  constructor(message: string) {
    super('EUNSAFE', message);
  }
}

/** `<componentsDir>/<type>s` */
export function typeDir(componentsDir: string, type: string): string {
  return join(componentsDir, `${type}s`);
}

/** `<componentsDir>/<type>s/<filename>`, after checking both names. Throws UnsafePathError. */
export function componentPath(componentsDir: string, type: string, filename: string): string {
  const problem = typeProblem(type) ?? filenameProblem(filename);
  if (problem) throw new UnsafePathError(problem);
  return join(typeDir(componentsDir, type), filename);
}

/** True if `child` is `root` or below it (both absolute, already resolved). */
export function isInside(root: string, child: string): boolean {
  const rel = relative(root, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Checks that the real path of `path` (or of its nearest existing ancestor) stays inside the
 * real `componentsDir`: a `<type>s` directory or a component that is a symlink pointing out is
 * refused. Answers undefined when safe, or the reason.
 */
export async function escapesRoot(fs: FsLayer, componentsRoot: string, path: string): Promise<string | undefined> {
  let realRoot: string;
  try {
    realRoot = await fs.realpath(componentsRoot);
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return undefined; // nothing exists yet, so nothing can point out
    throw err;
  }
  let probe = path;
  for (;;) {
    try {
      const real = await fs.realpath(probe);
      return isInside(realRoot, real) ? undefined : `${probe} resolves to ${real}, outside ${realRoot}`;
    } catch (err) {
      if (!hasCode(err, 'ENOENT', 'ENOTDIR')) throw err;
      // A dangling symlink also lands here; it is refused unless its parent is fine and it is absent.
      const parent = join(probe, '..');
      if (parent === probe || !isInside(componentsRoot, parent)) return undefined;
      probe = parent;
    }
  }
}
