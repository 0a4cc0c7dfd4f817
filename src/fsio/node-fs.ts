/**
 * The real `FsLayer`, on node:fs/promises. Asynchronous, but for one deliberate exception:
 * `renameIfUnchanged`, which publishes the map, runs its few metadata syscalls synchronously,
 * back to back, because that is what keeps a person's save (invariant 4) — see there.
 */
import { close, constants, fstat, fstatSync, lstatSync, openSync, read, renameSync, closeSync, type BigIntStats } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { promisify } from 'node:util';
import { NotRegularFileError } from './errors.js';
import { exchangeSync, type ExchangeFn } from './exchange.js';
import { hasCode, type DirEntry, type EntryKind, type FsLayer, type KeptFile, type StatInfo, type WritableFile } from './fs-layer.js';

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

const fstatBig = promisify(fstat) as unknown as (fd: number, opts: { bigint: true }) => Promise<BigIntStats>;
// fs.read's promisified form answers { bytesRead, buffer }.
const readAt = promisify(read) as unknown as (fd: number, buf: Buffer, off: number, len: number, pos: number) => Promise<{ bytesRead: number }>;
const closeFd = promisify(close);

/** A replaced version held open by its descriptor `fd` (see KeptFile in fs-layer.ts). */
function keptFd(fd: number): KeptFile {
  let open = true;
  return {
    identity: async () => identityOf(await fstatBig(fd, { bigint: true })),
    async read() {
      // pread from 0 to the end, however often it is called: the file's own offset is never used.
      const chunks: Buffer[] = [];
      for (let pos = 0; ;) {
        const buf = Buffer.allocUnsafe(Math.max(65536, Number((await fstatBig(fd, { bigint: true })).size) - pos + 1));
        const { bytesRead: n } = await readAt(fd, buf, 0, buf.length, pos);
        if (n === 0) break;
        chunks.push(buf.subarray(0, n));
        pos += n;
      }
      return Buffer.concat(chunks);
    },
    async close() {
      if (!open) return;
      open = false;
      await closeFd(fd);
    },
  };
}

/** Opens `path` read-only to keep it; undefined if it cannot be (EMFILE...): the publish still stands. */
function openKept(path: string): KeptFile | undefined {
  try {
    return keptFd(openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK));
  } catch {
    return undefined;
  }
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
function swapIfUnchanged(exchange: ExchangeFn, from: string, to: string, identity: string): string {
  const oursStat = lstatSync(from, { bigint: true });
  const ours = oursStat.ino;
  try {
    exchange(from, to); // ENOSYS/EINVAL here: nothing changed
  } catch (err) {
    // The map is gone (a person deleted or is replacing it): not ours to recreate unseen.
    if (hasCode(err, 'ENOENT')) throw changedError(to);
    throw err;
  }
  if (identityOf(lstatSync(from, { bigint: true })) === identity) return identityOf(oursStat);
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
export function guardedRename(from: string, to: string, identity: string): { published: string; kept: KeptFile | undefined } {
  // The version to be replaced is opened first, so that it can be kept by descriptor; the
  // descriptor must be on the very version checked.
  let fd: number | undefined;
  try {
    fd = openSync(to, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    fd = undefined; // missing (checked below), or no descriptor to spare: the publish still stands
  }
  const drop = () => {
    if (fd !== undefined) closeSync(fd);
  };
  let now: string;
  try {
    now = identityOf(lstatSync(to, { bigint: true }));
  } catch (err) {
    drop();
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    now = 'absent';
  }
  if (now !== identity || (fd !== undefined && identityOf(fstatSync(fd, { bigint: true })) !== identity)) {
    drop();
    throw changedError(to);
  }
  const published = identityOf(lstatSync(from, { bigint: true }));
  try {
    renameSync(from, to);
  } catch (err) {
    drop();
    throw err;
  }
  return { published, kept: fd === undefined ? undefined : keptFd(fd) };
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
      let published: string;
      try {
        published = swapIfUnchanged(exchangeSync, from, to, identity);
      } catch (err) {
        if (!hasCode(err, 'ENOSYS', 'EINVAL', 'ENOTSUP', 'EOPNOTSUPP')) throw err;
        exchangeWorks = false; // this kernel or file system cannot: the guarded rename from now on
        return guardedRename(from, to, identity);
      }
      // `from` now holds the version just replaced: the one the caller based its write on. It
      // is kept open before its name goes, so a write through an earlier descriptor is seen.
      const kept = openKept(from);
      await fsp.unlink(from).catch((err: unknown) => {
        if (!hasCode(err, 'ENOENT')) throw err;
      });
      return { published, kept };
    }
    return guardedRename(from, to, identity);
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
