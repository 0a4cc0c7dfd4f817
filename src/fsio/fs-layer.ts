/**
 * The file-system seam. Every byte jitd makes durable goes through an `FsLayer`, so tests can
 * swap in an in-memory disk that loses un-synced data at a simulated power cut, or wrap the
 * real one to inject crashes (SIGKILL), short writes, ENOSPC and EIO at a named step.
 *
 * The surface is the smallest that the durable-write protocol and the reconciler need; it says
 * nothing about policy. Every operation is required: the in-memory disk of the power-loss tests
 * implements each one with the same durability rules, so the proofs run the path that ships.
 * Errors are Node-style: an `Error` with an errno `code` (ENOENT, EEXIST...).
 */

/** An open, write-only file created by {@link FsLayer.createExclusive}. */
export interface WritableFile {
  /** Writes from `data[offset, offset+length)` at the current end; may write fewer bytes (a short write). */
  write(data: Uint8Array, offset: number, length: number): Promise<number>;
  /** fchmod(2): exact permission bits, not filtered by the umask. */
  chmod(mode: number): Promise<void>;
  /** fsync(2): the file's data and metadata reach stable storage, or this throws. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export type EntryKind = 'file' | 'dir' | 'symlink' | 'other';

export interface DirEntry {
  name: string;
  kind: EntryKind;
}

export interface StatInfo {
  kind: EntryKind;
  size: number;
  mtimeMs: number;
  /** Permission bits (0o7777). */
  mode: number;
  /**
   * Which version of the file this is (device, inode, size and mtime in ns): any write to the
   * file, or a rename over the path, changes it.
   */
  identity: string;
}

/**
 * The version of a file that {@link FsLayer.renameIfUnchanged} replaced, held open after its
 * last name is gone: a program that opened the file before the replace (an editor saving in
 * place: open, ftruncate, write) still writes into it, and this is how jitd sees that write
 * (src/install/in-place-saves.ts). Holding it costs an open file descriptor; close it.
 */
export interface KeptFile {
  /** The kept version's identity now ({@link StatInfo.identity}): a write through any descriptor changes it. */
  identity(): Promise<string>;
  /** Its whole content now. */
  read(): Promise<Buffer>;
  close(): Promise<void>;
}

/** What a guarded replace did. */
export interface Replaced {
  /** The identity of the version now at the target (the one published). */
  published: string;
  /** The version it replaced, held open (undefined if it could not be opened, e.g. EMFILE). */
  kept: KeptFile | undefined;
}

export interface FsLayer {
  /** open(2) with O_CREAT|O_EXCL|O_WRONLY: fails with EEXIST rather than touch an existing file. */
  createExclusive(path: string, mode: number): Promise<WritableFile>;
  readFile(path: string): Promise<Buffer>;
  /**
   * Reads `path` (following symlinks) only if it is a regular file, without ever blocking on
   * what is not (a FIFO opened for reading waits for a writer): otherwise throws
   * `NotRegularFileError` (errors.ts).
   */
  readRegularFile(path: string): Promise<Buffer>;
  /** rename(2): atomically replaces `to` if it exists. */
  rename(from: string, to: string): Promise<void>;
  /**
   * Replaces `to` by `from` only if `to` still has `identity` (see {@link StatInfo.identity});
   * otherwise `to` keeps the version it has and this throws an error with code `ETARGETCHANGED`
   * (node-fs.ts: a renameat2 exchange, or a check and a rename back to back). Like a rename, the
   * new entry is durable once the directory is fsynced. The name `from` is gone afterwards; the
   * replaced version is answered held open ({@link Replaced.kept}) — the caller closes it.
   */
  renameIfUnchanged(from: string, to: string, identity: string): Promise<Replaced>;
  /** link(2): creates `to` only if it does not exist (EEXIST otherwise); never clobbers. */
  link(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** mkdir -p with the given mode for directories it creates. */
  mkdirp(path: string, mode: number): Promise<void>;
  readdir(path: string): Promise<DirEntry[]>;
  /** Does not follow a final symlink. */
  lstat(path: string): Promise<StatInfo>;
  realpath(path: string): Promise<string>;
  /** fsync(2) on the directory itself, making its entries (creations, renames, unlinks) durable. */
  syncDir(path: string): Promise<void>;
}

/** True for a Node/FsLayer error carrying the given errno code. */
export function hasCode(err: unknown, ...codes: string[]): boolean {
  return typeof err === 'object' && err !== null && codes.includes((err as { code?: unknown }).code as string);
}

/** lstat that answers `undefined` for a missing path instead of throwing. */
export async function lstatOrNull(fs: FsLayer, path: string): Promise<StatInfo | undefined> {
  try {
    return await fs.lstat(path);
  } catch (err) {
    if (hasCode(err, 'ENOENT', 'ENOTDIR')) return undefined;
    throw err;
  }
}

/** readFile that answers `undefined` for a missing path instead of throwing. */
export async function readFileOrNull(fs: FsLayer, path: string): Promise<Buffer | undefined> {
  try {
    return await fs.readFile(path);
  } catch (err) {
    if (hasCode(err, 'ENOENT', 'ENOTDIR')) return undefined;
    throw err;
  }
}

/** readdir that answers an empty list for a missing directory. */
export async function readdirOrEmpty(fs: FsLayer, path: string): Promise<DirEntry[]> {
  try {
    return await fs.readdir(path);
  } catch (err) {
    if (hasCode(err, 'ENOENT', 'ENOTDIR')) return [];
    throw err;
  }
}
