/**
 * The real `FsLayer`, on node:fs/promises. Asynchronous, but for one deliberate exception:
 * `renameIfUnchanged`, which publishes the map, runs its few metadata syscalls synchronously,
 * back to back, because that is what keeps a person's save (invariant 4) — see there.
 */
import { constants, lstatSync, renameSync, type BigIntStats } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { NotRegularFileError } from './errors.js';
import { exchangeSync, type ExchangeFn } from './exchange.js';
import { hasCode, type DirEntry, type EntryKind, type FsLayer, type StatInfo, type WritableFile } from './fs-layer.js';

function kindOf(d: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): EntryKind {
  if (d.isFile()) return 'file';
  if (d.isDirectory()) return 'dir';
  if (d.isSymbolicLink()) return 'symlink';
  return 'other';
}

/**
 * A file's version: a write changes its mtime (and usually size), a rename over the path its
 * inode. Not the ctime, which a rename or exchange of the same inode changes too.
 */
function identityOf(s: BigIntStats): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}`;
}

const changedError = (to: string) => Object.assign(new Error(`${to} changed since it was checked`), { code: 'ETARGETCHANGED' });

/** Cleared the first time the kernel or file system refuses RENAME_EXCHANGE. */
let exchangeWorks = true;

/**
 * Swaps `from` in as `to` with renameat2(RENAME_EXCHANGE), then looks at what it swapped out: if
 * that is not the version `identity` names, a person saved after the caller's last check — their
 * save is swapped back (and if they saved yet again meanwhile, that newer save is the one left in
 * place) and this throws ETARGETCHANGED. Nothing is ever replaced unseen: an exchange destroys no
 * version. Synchronous, so the map shows jitd's version for microseconds at most before a
 * person's is put back (an editor reading in that instant would see jitd's).
 */
function swapIfUnchanged(exchange: ExchangeFn, from: string, to: string, identity: string): void {
  const ours = lstatSync(from, { bigint: true }).ino;
  try {
    exchange(from, to); // ENOSYS/EINVAL here: nothing changed
  } catch (err) {
    // The map is gone (a person deleted or is replacing it): not ours to recreate unseen.
    if (hasCode(err, 'ENOENT')) throw changedError(to);
    throw err;
  }
  if (identityOf(lstatSync(from, { bigint: true })) === identity) return;
  exchange(from, to);
  if (lstatSync(from, { bigint: true }).ino !== ours) exchange(from, to);
  throw changedError(to);
}

/**
 * The fallback without RENAME_EXCHANGE: check, then rename, synchronously and back to back (two
 * async calls would leave an event-loop turn and a thread-pool hop between them). It cannot see
 * an editor's rename that is in flight at the check — held up in the kernel, for milliseconds,
 * by a journal commit — and that save is then replaced unseen: about one save in a thousand in
 * the person-edits test (an extra same-directory rename first, to wait for renames in flight,
 * made no measurable difference).
 */
export function guardedRename(from: string, to: string, identity: string): void {
  let now: string;
  try {
    now = identityOf(lstatSync(to, { bigint: true }));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    now = 'absent';
  }
  if (now !== identity) throw changedError(to);
  renameSync(from, to);
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
    if (exchangeSync && exchangeWorks) {
      try {
        swapIfUnchanged(exchangeSync, from, to, identity);
      } catch (err) {
        if (!hasCode(err, 'ENOSYS', 'EINVAL', 'ENOTSUP', 'EOPNOTSUPP')) throw err;
        exchangeWorks = false; // this kernel or file system cannot: the guarded rename from now on
        return guardedRename(from, to, identity);
      }
      // `from` now holds the version just replaced: the one the caller based its write on.
      await fsp.unlink(from).catch((err: unknown) => {
        if (!hasCode(err, 'ENOENT')) throw err;
      });
      return;
    }
    guardedRename(from, to, identity);
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
