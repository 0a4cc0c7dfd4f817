/**
 * The socket file and its directory: created with owner-only modes (0700 directory, 0600
 * socket), or group-shared ones when `socketGroup` is set (0750 / 0660, group-owned). A stale
 * socket left by a killed daemon is replaced — the caller holds the library lock, so any socket
 * at the path is stale — but anything that is not a socket is refused. Asynchronous only.
 */
import { execFile } from 'node:child_process';
import { chmod, chown, lstat, mkdir, readFile, stat, unlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import { JitdError } from '../fsio/errors.js';

const run = promisify(execFile);

/** The socket path is unusable (something else sits there, a parent is not a directory...). */
export class SocketPathError extends JitdError {
  constructor(message: string) {
    super('ESOCKETPATH', message);
  }
}

function parseGroupLine(line: string, name: string): number | undefined {
  const [gname, , gid] = line.split(':');
  if (gname !== name || gid === undefined || !/^\d+$/.test(gid)) return undefined;
  return Number(gid);
}

/** The gid of group `name` (a number passes through): `getent group`, else `/etc/group`. */
export async function lookupGroup(name: string): Promise<number> {
  if (/^\d+$/.test(name)) return Number(name);
  try {
    const { stdout } = await run('getent', ['group', name], { timeout: 5000 });
    const gid = parseGroupLine(stdout.trim().split('\n')[0] ?? '', name);
    if (gid !== undefined) return gid;
  } catch (err) {
    // getent exits 2 for an unknown group; ENOENT when there is no getent: read the file.
    if ((err as { code?: unknown }).code !== 'ENOENT' && (err as { code?: unknown }).code !== 2) throw err;
  }
  let text = '';
  try {
    text = await readFile('/etc/group', 'utf8');
  } catch {
    // no /etc/group: the group is unknown
  }
  for (const line of text.split('\n')) {
    const gid = parseGroupLine(line, name);
    if (gid !== undefined) return gid;
  }
  throw new JitdError('ECONFIG', `socketGroup: no group named ${JSON.stringify(name)}`);
}

/**
 * Creates the socket's directory (mode 0700, or 0750 owned by `gid`). An existing directory owned
 * by this user gets the same mode and group, unless it is a shared one (sticky or world-writable,
 * like /tmp), which is left alone: the socket's own mode still protects it.
 */
export async function prepareSocketDir(dir: string, gid: number | undefined): Promise<void> {
  const mode = gid === undefined ? 0o700 : 0o750;
  try {
    await mkdir(dir, { recursive: true, mode });
  } catch (err) {
    throw new SocketPathError(`cannot create the socket directory ${dir}: ${(err as Error).message}`);
  }
  const st = await stat(dir);
  if (!st.isDirectory()) throw new SocketPathError(`${dir} is not a directory`);
  const shared = (st.mode & 0o1000) !== 0 || (st.mode & 0o002) !== 0;
  if (shared || st.uid !== process.getuid?.()) return;
  // mkdir's mode is filtered by the umask; set it exactly.
  if ((st.mode & 0o7777) !== mode) await chmod(dir, mode);
  if (gid !== undefined && st.gid !== gid) await chown(dir, -1, gid);
}

/** Removes a stale socket at `path`; refuses (SocketPathError) if something else is there. */
export async function removeStaleSocket(path: string): Promise<boolean> {
  let st;
  try {
    st = await lstat(path);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return false;
    throw err;
  }
  if (!st.isSocket()) throw new SocketPathError(`${path} exists and is not a socket; refusing to replace it`);
  await unlink(path);
  return true;
}

/** Sets the listening socket's mode (0600, or 0660 owned by `gid`). */
export async function secureSocket(path: string, gid: number | undefined): Promise<void> {
  await chmod(path, gid === undefined ? 0o600 : 0o660);
  // Only when the group differs: under the systemd unit the socket is created with the right
  // group already, and the unit's SystemCallFilter refuses chown (EPERM).
  if (gid !== undefined && (await stat(path)).gid !== gid) await chown(path, -1, gid);
}
