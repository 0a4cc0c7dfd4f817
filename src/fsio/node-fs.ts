/**
 * The real `FsLayer`, on node:fs/promises. Asynchronous only: no synchronous I/O reaches the
 * event loop of the daemon from here.
 */
import { constants } from 'node:fs';
import * as fsp from 'node:fs/promises';
import type { DirEntry, EntryKind, FsLayer, StatInfo, WritableFile } from './fs-layer.js';

function kindOf(d: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): EntryKind {
  if (d.isFile()) return 'file';
  if (d.isDirectory()) return 'dir';
  if (d.isSymbolicLink()) return 'symlink';
  return 'other';
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
  rename: (from, to) => fsp.rename(from, to),
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
    const s = await fsp.lstat(path);
    return { kind: kindOf(s), size: s.size, mtimeMs: s.mtimeMs, mode: s.mode & 0o7777 };
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
