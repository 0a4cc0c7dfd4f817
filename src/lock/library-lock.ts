/**
 * One daemon per library (invariant 7): the same map, the same components tree or the same
 * state directory. Each of the three is locked: two configs with different maps but one
 * `componentsDir` would otherwise quarantine each other's generated files. A lock is a listening
 * *abstract* Unix socket named from the path's identity: the kernel owns it, so it is released
 * the instant its holder dies — kill -9 included — with no stale lock file to judge or break. A
 * second daemon gets EADDRINUSE and asks the holder for its pid, for a clear message naming
 * what is shared.
 *
 * A path's identity is its real path; a directory that does not exist yet (a components tree
 * moved away at start-up) is named by the real path of its nearest existing ancestor plus the
 * rest as written, which is what its real path will be once it is made there. The three
 * identities share one name space: a path used as one daemon's state directory and another's
 * components tree conflicts too.
 *
 * Abstract sockets are Linux-only; on other platforms this falls back to lock socket files
 * under stateDir, which a killed holder leaves behind (replaced when nobody answers on one).
 */
import { createHash } from 'node:crypto';
import { createConnection, createServer, type Server } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { realpath, unlink } from 'node:fs/promises';
import { JitdError } from '../fsio/errors.js';

/** What a lock covers, as the message names it. */
export type LockedPart = 'map' | 'components tree' | 'state directory';

export class LockHeldError extends JitdError {
  constructor(
    readonly holderPid: number | undefined,
    library: string,
    /** Which of this daemon's paths another jitd holds. */
    readonly part: LockedPart = 'map',
  ) {
    super(
      'ELOCKED',
      `another jitd${holderPid ? ` (pid ${holderPid})` : ''} is already running with the same ${part} ${library}` +
        ` (one daemon per map, components tree and state directory); stop it first, or give this library its own ${part}`,
    );
  }
}

export interface LibraryLock {
  /** The names the locks are held under (for diagnostics), the map's first. */
  readonly name: string;
  release(): Promise<void>;
}

/** The paths one daemon owns. */
export interface LibraryPaths {
  mapFile: string;
  componentsDir: string;
  stateDir: string;
}

/** Real path of `p`, or of its nearest existing ancestor joined with the rest as written. */
async function identity(p: string): Promise<string> {
  const rest: string[] = [];
  for (let dir = p; ; dir = dirname(dir)) {
    try {
      return join(await realpath(dir), ...rest);
    } catch {
      if (dirname(dir) === dir) return p;
      rest.unshift(basename(dir));
    }
  }
}

/** The map's identity: the real path of its directory plus its name (the map may be replaced). */
async function mapKey(mapFile: string): Promise<string> {
  return join(await identity(dirname(mapFile)), basename(mapFile));
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

async function lockOne(key: string, stateDir: string, part: LockedPart): Promise<{ name: string; server: Server }> {
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
    if (pid !== undefined || abstract) throw new LockHeldError(pid, key, part);
    await unlink(path).catch(() => undefined); // stale lock file on a non-Linux host
    await listen(server, path);
  }
  return { name: abstract ? `@jitd-lock-${digest}` : path, server };
}

const close = (server: Server) => new Promise<void>((done) => server.close(() => done()));

/**
 * Takes the locks of the map, the components tree and the state directory, or throws
 * LockHeldError naming the first one another jitd holds (and takes none).
 */
export async function acquireLibraryLock(paths: LibraryPaths): Promise<LibraryLock> {
  const parts: [LockedPart, string][] = [
    ['map', await mapKey(paths.mapFile)],
    ['components tree', await identity(paths.componentsDir)],
    ['state directory', await identity(paths.stateDir)],
  ];
  const held: { name: string; server: Server }[] = [];
  const seen = new Set<string>();
  try {
    for (const [part, key] of parts) {
      if (seen.has(key)) continue; // one path in two roles of this daemon: one lock
      seen.add(key);
      held.push(await lockOne(key, paths.stateDir, part));
    }
  } catch (err) {
    await Promise.all(held.map((h) => close(h.server)));
    throw err;
  }
  return {
    name: held.map((h) => h.name).join(' '),
    release: async () => {
      await Promise.all(held.map((h) => close(h.server)));
    },
  };
}
