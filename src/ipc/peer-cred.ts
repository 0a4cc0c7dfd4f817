/**
 * Who is on the other end of a control-socket connection, as the kernel says (SO_PEERCRED,
 * through the native addon's `peerCred`, src/fsio/native/exchange.c), for the provenance of an
 * answer, an approval or an edit. A client cannot claim to be someone else: nothing it sends is
 * read. Answers undefined where the addon is not built (or the socket has no credentials): the
 * provenance then names nobody, and nothing else changes.
 */
import type { Socket } from 'node:net';
import { nativeAddon, type NativeAddon } from '../fsio/native-addon.js';
import type { Peer } from '../requests/provenance.js';

/** Reads a connected socket's peer, or answers undefined. */
export type PeerReader = (socket: Socket) => Peer | undefined;

/**
 * The file descriptor of an accepted Unix socket. Node does not expose it: this reads the libuv
 * Pipe handle's `fd`, an internal (stable since Node 0.x, but not public API); undefined if it
 * is not there, and the peer is then unknown.
 */
function socketFd(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/**
 * How long a uid's user name is trusted. getpwuid_r runs on the event loop and may ask a slow
 * NSS source (LDAP, sssd): looked up once per uid per this, not once per connection. A renamed
 * user shows under the new name within it.
 */
export const USER_NAME_TTL_MS = 10 * 60_000;

export interface PeerReaderOptions {
  /** The clock the name cache reads (tests). */
  now?: () => number;
}

/** A reader over `addon` (tests pass one that could not load, or a counting fake). */
export function peerReader(addon: NativeAddon | undefined, opts: PeerReaderOptions = {}): PeerReader {
  const peerCred = addon?.peerCred;
  if (typeof peerCred !== 'function') return () => undefined;
  const userName = addon?.userName;
  const now = opts.now ?? Date.now;
  const names = new Map<number, { user: string | undefined; at: number }>();
  const nameOf = (uid: number, given: string | undefined): string | undefined => {
    if (typeof userName !== 'function') return given; // an addon built before userName
    const cached = names.get(uid);
    if (cached && now() - cached.at < USER_NAME_TTL_MS) return cached.user;
    let user: string | undefined;
    try {
      user = userName(uid);
    } catch {
      user = undefined;
    }
    names.set(uid, { user, at: now() });
    return user;
  };
  return (socket) => {
    const fd = socketFd(socket);
    if (fd === undefined) return undefined;
    try {
      const { uid, user: given } = peerCred(fd);
      const user = nameOf(uid, given);
      return user !== undefined ? { uid, user } : { uid };
    } catch {
      return undefined;
    }
  };
}

/** The reader over the addon as built. */
export const readPeer: PeerReader = peerReader(nativeAddon);
