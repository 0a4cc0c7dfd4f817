/**
 * The component index: which files exist in each `<type>s` directory. Built by one readdir per
 * directory (no stat per file: 100,000 components cost 1,000 readdirs), then kept current by
 * watcher hints. Symlinked type directories pointing outside the library are not followed, and
 * a symlink under a generated name that points outside is not listed (jitd never writes
 * symlinks, so it is not jitd's output and must not be adopted). A type directory that cannot
 * be read (EACCES...) is marked unreadable: its entries are neither requested nor orphaned
 * until a later scan can read it.
 *
 * The components root itself missing or unreadable (moved away, `rm -rf`, EACCES) makes the
 * whole index *unavailable*, not empty (contract §4.7): every type directory reads as unreadable,
 * so planning asks for nothing and orphans nothing until the root is back.
 */
import { dirname, join } from 'node:path';
import { hasCode, lstatOrNull, readdirOrEmpty, type DirEntry, type FsLayer } from '../fsio/fs-layer.js';
import { isJitdTemp } from '../fsio/temp-files.js';
import { isGeneratedName } from './names.js';
import { escapesRoot } from './paths.js';

/**
 * Errors that make one type directory unreadable without saying anything about the others: the
 * scan reports the directory and goes on (one directory of another owner must not stop jitd).
 */
const UNREADABLE_CODES = ['EACCES', 'EPERM', 'EIO', 'ELOOP', 'EMFILE', 'ENFILE', 'ENAMETOOLONG'];

export class ComponentIndex {
  private readonly byDir = new Map<string, Set<string>>();
  /** Type directories whose listing is unknown (the last scan could not read them). */
  private readonly unreadable = new Set<string>();

  /** `<type>s` per type: `has` runs once per map entry, and building the name each time cost 20 ms on 100,000. */
  private readonly dirNames = new Map<string, string>();

  /** True if `<type>s/<name>` is known to exist. */
  has(type: string, name: string): boolean {
    let dir = this.dirNames.get(type);
    if (dir === undefined) this.dirNames.set(type, (dir = `${type}s`));
    return this.byDir.get(dir)?.has(name) ?? false;
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
    this.unreadable.delete(typeDirName);
  }
  dropDir(typeDirName: string): void {
    this.byDir.delete(typeDirName);
    this.unreadable.delete(typeDirName);
  }
  /** Marks a directory whose listing could not be read: planning leaves its entries alone. */
  markUnreadable(typeDirName: string): void {
    this.byDir.delete(typeDirName);
    this.unreadable.add(typeDirName);
  }
  /** True if the last scan could not read `typeDirName` (its contents are unknown). */
  isUnreadable(typeDirName: string): boolean {
    return this.rootUnavailable !== undefined || this.unreadable.has(typeDirName);
  }
  /** True if any directory is marked unreadable. */
  get hasUnreadable(): boolean {
    return this.rootUnavailable !== undefined || this.unreadable.size > 0;
  }
  /**
   * Why the components root cannot be listed (missing, not a directory, EACCES...), or
   * undefined while it can: then nothing of the tree is known, and nothing is planned from it.
   */
  rootUnavailable: string | undefined;
  /** The root is gone: forget every listing (they are unknown until the root is back). */
  markRootUnavailable(why: string): void {
    this.byDir.clear();
    this.unreadable.clear();
    this.rootUnavailable = why;
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
  /** Why componentsDir itself could not be listed (then the index knows nothing), if so. */
  rootUnavailable?: string;
  /** Type directories (names) in which the scan saw jitd temp files: the only ones to sweep. */
  withTemps: string[];
  /** Type directories refused because they resolve outside componentsDir. */
  refused: string[];
  /** Type directories that could not be read, with why; left alone until a scan can read them. */
  unreadable: UnreadableDir[];
  /** True if the scan saw jitd temp files (`status --sync` cookies) in componentsDir itself. */
  rootHasTemps: boolean;
}

export interface UnreadableDir {
  dir: string;
  /** The errno code (EACCES...). */
  code: string;
  message: string;
}

/**
 * Why `componentsDir` cannot serve as the root of the tree (missing, not a directory,
 * unreadable), or undefined if it can. A root that is gone is not an empty tree.
 */
export async function rootProblem(fs: FsLayer, componentsDir: string): Promise<string | undefined> {
  try {
    const st = await fs.lstat(componentsDir);
    if (st.kind === 'dir') return undefined;
    if (st.kind === 'symlink' && (await fs.realpath(componentsDir).then(async (real) => (await fs.lstat(real)).kind === 'dir'))) return undefined;
    return `${componentsDir} is not a directory`;
  } catch (err) {
    if (hasCode(err, 'ENOENT', 'ENOTDIR')) return `${componentsDir} is missing (moved away or removed)`;
    if (hasCode(err, ...UNREADABLE_CODES)) return `${componentsDir} cannot be read (${(err as { code: string }).code})`;
    throw err;
  }
}

/**
 * Lists one `<type>s` directory (`<componentsDir>/<name>`): regular files and symlinks, no
 * temps, no hidden files. A directory that is a symlink pointing outside componentsDir lists as
 * empty, as the full scan refuses it. Answers `{ rootUnavailable }` instead if componentsDir
 * itself is gone: its type directories are then unknown, not empty.
 */
export async function listTypeDir(fs: FsLayer, dir: string): Promise<string[]>;
export async function listTypeDir(fs: FsLayer, dir: string, opts: { checkRoot: true }): Promise<string[] | { rootUnavailable: string }>;
export async function listTypeDir(fs: FsLayer, dir: string, opts?: { checkRoot: true }): Promise<string[] | { rootUnavailable: string }> {
  const componentsDir = dirname(dir);
  if ((await lstatOrNull(fs, dir))?.kind === 'symlink' && (await escapesRoot(fs, componentsDir, dir))) return [];
  const entries = await readdirOrEmpty(fs, dir);
  if (opts?.checkRoot && entries.length === 0) {
    const why = await rootProblem(fs, componentsDir);
    if (why) return { rootUnavailable: why };
  }
  return componentNames(fs, componentsDir, dir, entries);
}

async function componentNames(fs: FsLayer, componentsDir: string, dir: string, entries: readonly DirEntry[]): Promise<string[]> {
  const names: string[] = [];
  for (const e of entries) {
    if ((e.kind !== 'file' && e.kind !== 'symlink') || isJitdTemp(e.name) || e.name.startsWith('.')) continue;
    // Only symlinks under generated names cost a realpath: they are what a roll-forward adopts.
    if (e.kind === 'symlink' && isGeneratedName(e.name) && (await generatedLinkEscapes(fs, componentsDir, join(dir, e.name)))) continue;
    names.push(e.name);
  }
  return names;
}

/** True if a symlink under a generated name resolves outside (or cannot be resolved: a loop). */
async function generatedLinkEscapes(fs: FsLayer, componentsDir: string, path: string): Promise<boolean> {
  try {
    return (await escapesRoot(fs, componentsDir, path)) !== undefined;
  } catch (err) {
    if (hasCode(err, ...UNREADABLE_CODES)) return true;
    throw err;
  }
}

/** Type directories listed at once by a scan (each readdir is a round trip to libuv's pool). */
const SCAN_PARALLELISM = 8;

/** Scans the whole component tree (start-up and full reconcile). */
export async function scanComponents(fs: FsLayer, componentsDir: string): Promise<ScanResult> {
  const index = new ComponentIndex();
  const refused: string[] = [];
  const withTemps: string[] = [];
  const unreadable: UnreadableDir[] = [];
  let rootHasTemps = false;
  const dirs: DirEntry[] = [];
  let rootEntries: DirEntry[];
  try {
    rootEntries = await fs.readdir(componentsDir);
  } catch (err) {
    if (!hasCode(err, 'ENOENT', 'ENOTDIR', ...UNREADABLE_CODES)) throw err;
    const why = (await rootProblem(fs, componentsDir)) ?? `${componentsDir} cannot be read (${(err as { code: string }).code})`;
    index.markRootUnavailable(why);
    return { index, refused, withTemps, unreadable, rootHasTemps, rootUnavailable: why };
  }
  for (const e of rootEntries) {
    if (isJitdTemp(e.name) && e.kind !== 'dir') rootHasTemps = true;
    if (e.kind !== 'dir' && e.kind !== 'symlink') continue;
    if (e.name.startsWith('.') || !e.name.endsWith('s')) continue;
    dirs.push(e);
  }
  // A few directories are read at a time; results are applied in listing order.
  const listings: (DirEntry[] | 'refused' | UnreadableDir)[] = new Array(dirs.length);
  const names: string[][] = new Array(dirs.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < dirs.length; i = next++) {
      const e = dirs[i] as DirEntry;
      const dir = join(componentsDir, e.name);
      try {
        if (e.kind === 'symlink' && (await escapesRoot(fs, componentsDir, dir))) {
          listings[i] = 'refused';
          continue;
        }
        const listing = await readdirOrEmpty(fs, dir);
        listings[i] = listing;
        names[i] = await componentNames(fs, componentsDir, dir, listing);
      } catch (err) {
        if (!hasCode(err, ...UNREADABLE_CODES)) throw err;
        listings[i] = { dir, code: (err as { code: string }).code, message: (err as Error).message };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(SCAN_PARALLELISM, dirs.length) }, worker));
  for (const [i, { name }] of dirs.entries()) {
    const listing = listings[i] as DirEntry[] | 'refused' | UnreadableDir;
    if (listing === 'refused') {
      refused.push(join(componentsDir, name));
      continue;
    }
    if (!Array.isArray(listing)) {
      unreadable.push(listing);
      index.markUnreadable(name);
      continue;
    }
    index.setDir(name, names[i] as string[]);
    if (listing.some((x) => isJitdTemp(x.name))) withTemps.push(name);
  }
  return { index, refused, withTemps, unreadable, rootHasTemps };
}
