/**
 * The component index: which files exist in each `<type>s` directory. Built by one readdir per
 * directory (no stat per file: 100,000 components cost 1,000 readdirs), then kept current by
 * watcher hints. Symlinked type directories pointing outside the library are not followed.
 */
import { join } from 'node:path';
import { readdirOrEmpty, type DirEntry, type FsLayer } from '../fsio/fs-layer.js';
import { isJitdTemp } from '../fsio/temp-files.js';
import { escapesRoot } from '../library/paths.js';

export class ComponentIndex {
  private readonly byDir = new Map<string, Set<string>>();

  /** True if `<type>s/<name>` is known to exist. */
  has(type: string, name: string): boolean {
    return this.byDir.get(`${type}s`)?.has(name) ?? false;
  }
  add(typeDirName: string, name: string): void {
    let set = this.byDir.get(typeDirName);
    if (!set) this.byDir.set(typeDirName, (set = new Set()));
    set.add(name);
  }
  delete(typeDirName: string, name: string): void {
    this.byDir.get(typeDirName)?.delete(name);
  }
  /** The files of one `<type>s` directory (read-only view), or undefined if none are known. */
  filesIn(typeDirName: string): ReadonlySet<string> | undefined {
    return this.byDir.get(typeDirName);
  }
  /** Replaces one directory's listing (after a rescan of it). */
  setDir(typeDirName: string, names: Iterable<string>): void {
    this.byDir.set(typeDirName, new Set(names));
  }
  dropDir(typeDirName: string): void {
    this.byDir.delete(typeDirName);
  }
  dirs(): string[] {
    return [...this.byDir.keys()];
  }
  files(typeDirName: string): string[] {
    return [...(this.byDir.get(typeDirName) ?? [])];
  }
  get size(): number {
    let n = 0;
    for (const s of this.byDir.values()) n += s.size;
    return n;
  }
}

export interface ScanResult {
  index: ComponentIndex;
  /** Type directories (names) in which the scan saw jitd temp files: the only ones to sweep. */
  withTemps: string[];
  /** Type directories refused because they resolve outside componentsDir. */
  refused: string[];
}

/** Lists one `<type>s` directory: regular files and symlinks, no temps, no hidden files. */
export async function listTypeDir(fs: FsLayer, dir: string): Promise<string[]> {
  return componentNames(await readdirOrEmpty(fs, dir));
}

function componentNames(entries: readonly DirEntry[]): string[] {
  const names: string[] = [];
  for (const e of entries) {
    if ((e.kind === 'file' || e.kind === 'symlink') && !isJitdTemp(e.name) && !e.name.startsWith('.')) names.push(e.name);
  }
  return names;
}

/** Type directories listed at once by a scan (each readdir is a round trip to libuv's pool). */
const SCAN_PARALLELISM = 8;

/** Scans the whole component tree (start-up and full reconcile). */
export async function scanComponents(fs: FsLayer, componentsDir: string): Promise<ScanResult> {
  const index = new ComponentIndex();
  const refused: string[] = [];
  const withTemps: string[] = [];
  const dirs: DirEntry[] = [];
  for (const e of await readdirOrEmpty(fs, componentsDir)) {
    if (e.kind !== 'dir' && e.kind !== 'symlink') continue;
    if (e.name.startsWith('.') || !e.name.endsWith('s')) continue;
    dirs.push(e);
  }
  // A few directories are read at a time; results are applied in listing order.
  const listings: (DirEntry[] | 'refused')[] = new Array(dirs.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < dirs.length; i = next++) {
      const e = dirs[i] as DirEntry;
      const dir = join(componentsDir, e.name);
      listings[i] = e.kind === 'symlink' && (await escapesRoot(fs, componentsDir, dir)) ? 'refused' : await readdirOrEmpty(fs, dir);
    }
  };
  await Promise.all(Array.from({ length: Math.min(SCAN_PARALLELISM, dirs.length) }, worker));
  for (const [i, { name }] of dirs.entries()) {
    const listing = listings[i] as DirEntry[] | 'refused';
    if (listing === 'refused') {
      refused.push(join(componentsDir, name));
      continue;
    }
    index.setDir(name, componentNames(listing));
    if (listing.some((x) => isJitdTemp(x.name))) withTemps.push(name);
  }
  return { index, refused, withTemps };
}
