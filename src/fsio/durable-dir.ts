/**
 * Directories that survive a power cut. A directory's own entry lives in its parent, so a
 * freshly made directory — and everything acknowledged inside it — can vanish at a power cut
 * unless the parent is fsynced too. The same holds for a directory that already exists but
 * was made by a run that crashed before that fsync: nothing on disk tells the two apart, so the
 * first use of a directory in each process fsyncs its parent once (cheap, and never again).
 */
import { dirname } from 'node:path';
import { syncDirOrDie } from './durable-put.js';
import { lstatOrNull, type FsLayer } from './fs-layer.js';

/** Per file-system layer (tests run many simulated disks in one process). */
const knownDurable = new WeakMap<FsLayer, Set<string>>();

/** mkdir -p `dir`, then make `dir` and every directory created on the way durable in its parent. */
export async function ensureDurableDir(fs: FsLayer, dir: string, mode: number): Promise<void> {
  let seen = knownDurable.get(fs);
  if (!seen) knownDurable.set(fs, (seen = new Set()));
  if (seen.has(dir)) return;
  const created: string[] = [];
  for (let p = dir; !(await lstatOrNull(fs, p)); p = dirname(p)) {
    created.unshift(p);
    if (dirname(p) === p) break;
  }
  if (created.length) await fs.mkdirp(dir, mode);
  // Parents first: a child's entry is only worth something once its parent's entry is durable.
  for (const d of created.length ? created : [dir]) await syncDirOrDie(fs, dirname(d));
  seen.add(dir);
}
