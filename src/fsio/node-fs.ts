/**
 * The real `FsLayer`, on node:fs/promises. Asynchronous, but for one deliberate exception:
 * `renameIfUnchanged` runs lstat and rename synchronously, back to back, because that pair is
 * what keeps a person's save (invariant 4) — see there.
 */
import { constants, lstatSync, renameSync, type BigIntStats } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { NotRegularFileError } from './errors.js';
import type { DirEntry, EntryKind, FsLayer, StatInfo, WritableFile } from './fs-layer.js';

function kindOf(d: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): EntryKind {
  if (d.isFile()) return 'file';
  if (d.isDirectory()) return 'dir';
  if (d.isSymbolicLink()) return 'symlink';
  return 'other';
}

/** A file's version: any write (mtime), rename over (ino) or metadata change (ctime) alters it. */
function identityOf(s: BigIntStats): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

export const nodeFs: FsLayer = {
  async createExclusive(path, mode) {
    const fh = await fsp.open(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, mode);
    const file: WritableFile = {
      async write(data, offset, length) {
        const { bytesWritten } = await fh.write(data, offset, length);
        return bytesWritten;
      },
      chmod: (m) => fh.chmod(m),
      sync: () => fh.sync(),
      close: () => fh.close(),
    };
    return file;
  },
  readFile: (path) => fsp.readFile(path),
  async readRegularFile(path) {
    // O_NONBLOCK: opening a FIFO returns at once instead of holding a thread-pool thread until a
    // writer comes; fstat of the open file then decides, so no swap can slip in after a check.
    const fh = await fsp.open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new NotRegularFileError(path, st.isDirectory() ? 'dir' : 'other');
      return await fh.readFile();
    } finally {
      await fh.close();
    }
  },
  rename: (from, to) => fsp.rename(from, to),
  async renameIfUnchanged(from, to, identity) {
    // Synchronous on purpose: two async calls leave an event-loop turn and a thread-pool hop
    // (tens to hundreds of µs) between the check and the rename, in which an editor's save is
    // replaced unseen. Back to back, the window is the gap between two syscalls. Both are
    // metadata-only and take microseconds; Linux has renameat2(RENAME_EXCHANGE), which would
    // close it entirely, but Node does not expose it.
    let now: string;
    try {
      now = identityOf(lstatSync(to, { bigint: true }));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      now = 'absent';
    }
    if (now !== identity) throw Object.assign(new Error(`${to} changed since it was checked`), { code: 'ETARGETCHANGED' });
    renameSync(from, to);
  },
  link: (from, to) => fsp.link(from, to),
  unlink: (path) => fsp.unlink(path),
  async mkdirp(path, mode) {
    await fsp.mkdir(path, { recursive: true, mode });
  },
  async readdir(path): Promise<DirEntry[]> {
    const entries = await fsp.readdir(path, { withFileTypes: true });
    return entries.map((d) => ({ name: d.name, kind: kindOf(d) }));
  },
  async lstat(path): Promise<StatInfo> {
    const s = await fsp.lstat(path, { bigint: true });
    return { kind: kindOf(s), size: Number(s.size), mtimeMs: Number(s.mtimeMs), mode: Number(s.mode) & 0o7777, identity: identityOf(s) };
  },
  realpath: (path) => fsp.realpath(path),
  async syncDir(path) {
    // O_RDONLY on a directory is how Linux lets you fsync it; the fsync covers its entries.
    const fh = await fsp.open(path, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  },
};
