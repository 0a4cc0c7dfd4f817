/**
 * One daemon per library (invariant 7). The lock is a listening *abstract* Unix socket named
 * from the library's real map path: the kernel owns it, so it is released the instant its
 * holder dies — kill -9 included — with no stale lock file to judge or break. A second daemon
 * gets EADDRINUSE and asks the holder for its pid, for a clear message.
 *
 * Abstract sockets are Linux-only; on other platforms this falls back to a lock socket file
 * under stateDir, which a killed holder leaves behind (it is replaced when nobody answers on it).
 */
import { createHash } from 'node:crypto';
import { createConnection, createServer, type Server } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { realpath, unlink } from 'node:fs/promises';
import { JitdError } from '../fsio/errors.js';

export class LockHeldError extends JitdError {
  constructor(
    readonly holderPid: number | undefined,
    library: string,
  ) {
    super(
      'ELOCKED',
      `another jitd${holderPid ? ` (pid ${holderPid})` : ''} is already running for the library ${library}; stop it first`,
    );
  }
}

export interface LibraryLock {
  /** The name the lock is held under (for diagnostics). */
  readonly name: string;
  release(): Promise<void>;
}

/** The library's identity: the real path of the map's directory plus its name. */
async function libraryKey(mapFile: string): Promise<string> {
  let dir = dirname(mapFile);
  try {
    dir = await realpath(dir);
  } catch {
    // The directory may not exist yet; the lexical path is then the best identity there is.
  }
  return join(dir, basename(mapFile));
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
}

/** Asks a lock holder for its pid (it writes it on every connection). */
function askHolderPid(path: string): Promise<number | undefined> {
  return new Promise((done) => {
    const sock = createConnection(path);
    let data = '';
    const finish = (pid?: number) => {
      sock.destroy();
      done(pid);
    };
    sock.setTimeout(1000, () => finish());
    sock.on('data', (chunk) => {
      data += chunk.toString('utf8');
      const pid = Number.parseInt(data, 10);
      if (data.includes('\n')) finish(Number.isFinite(pid) ? pid : undefined);
    });
    sock.on('error', () => finish());
    sock.on('end', () => finish(Number.parseInt(data, 10) || undefined));
  });
}

/** Takes the library lock or throws LockHeldError. */
export async function acquireLibraryLock(mapFile: string, stateDir: string): Promise<LibraryLock> {
  const key = await libraryKey(mapFile);
  const digest = createHash('sha256').update(key).digest('hex').slice(0, 32);
  const abstract = process.platform === 'linux';
  const path = abstract ? `\0jitd-lock-${digest}` : join(stateDir, `lock-${digest}.sock`);
  const server = createServer((conn) => conn.end(`${process.pid}\n`));
  server.unref(); // the lock must never keep the process alive on its own
  try {
    await listen(server, path);
  } catch (err) {
    if ((err as { code?: string }).code !== 'EADDRINUSE') throw err;
    const pid = await askHolderPid(path);
    if (pid !== undefined || abstract) throw new LockHeldError(pid, key);
    await unlink(path).catch(() => undefined); // stale lock file on a non-Linux host
    await listen(server, path);
  }
  return {
    name: abstract ? `@jitd-lock-${digest}` : path,
    release: () => new Promise<void>((done) => server.close(() => done())),
  };
}
