/**
 * What became of a directory that is no longer at its path: removed, or moved away? The answer
 * decides what jitd does about its state directory (contract §4.7): a removed one (`rm -rf .jitd`)
 * can never come back, so jitd makes it again where it belongs; one moved away
 * (`mv .jitd .jitd.old`) may be moved back, so jitd waits for it rather than create a new one
 * that the move back would nest inside.
 *
 * The tell is an open handle on the directory: the kernel keeps the inode alive for it, and its
 * link count drops to 0 once the directory is removed, while a moved directory keeps its links.
 */
import { lstat, open, type FileHandle } from 'node:fs/promises';

export type DirFateAnswer = 'present' | 'removed' | 'moved' | 'unknown';

export interface DirFate {
  /** Where the directory is now, as far as its path and its handle tell. */
  check(): Promise<DirFateAnswer>;
  /** Takes a new handle on the directory at the path (after it was made again or moved back). */
  reopen(): Promise<void>;
  close(): Promise<void>;
}

async function openDir(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, 'r');
  } catch {
    return undefined;
  }
}

/** Holds a handle on `path` (which should exist now) to tell its removal from a move later. */
export async function watchDirFate(path: string): Promise<DirFate> {
  let handle = await openDir(path);
  let ino = handle ? (await handle.stat()).ino : undefined;
  const reopen = async () => {
    await handle?.close().catch(() => undefined);
    handle = await openDir(path);
    ino = handle ? (await handle.stat().catch(() => undefined))?.ino : undefined;
  };
  return {
    async check() {
      const now = await lstat(path).catch(() => undefined);
      if (now?.isDirectory()) {
        if (now.ino !== ino) await reopen(); // made again, or moved back: follow the one at the path
        return 'present';
      }
      if (!handle) return 'unknown';
      const st = await handle.stat().catch(() => undefined);
      if (!st) return 'unknown';
      return st.nlink === 0 ? 'removed' : 'moved';
    },
    reopen,
    async close() {
      await handle?.close().catch(() => undefined);
      handle = undefined;
    },
  };
}
