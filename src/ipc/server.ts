/**
 * The control server (contract §7): listens on the Unix socket, accepts up to `maxClients` clients
 * and hands each to a ClientConnection; fans engine events out to subscribed clients through a
 * single engine listener; bounds the request bytes queued across all clients (ReadBudget).
 * Start it with the library lock held: an existing socket file is then known to be stale and
 * is replaced.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { unlink } from 'node:fs/promises';
import type { EngineEvent } from '../jobs/events.js';
import type { DaemonContext } from './context.js';
import { ClientConnection } from './connection.js';
import { encodeLine, ERROR_CODES, LIMITS, type Limits } from './protocol.js';
import { readPeer, type PeerReader } from './peer-cred.js';
import { ReadBudget } from './read-budget.js';
import { lookupGroup, prepareSocketDir, removeStaleSocket, secureSocket } from './socket-file.js';

export interface ControlServerOptions {
  socketPath: string;
  /** A group allowed to use the socket: 0660 socket in a 0750 directory, both owned by it. */
  socketGroup?: string;
  /** Overrides of the protocol limits (tests use short timeouts). */
  limits?: Partial<Limits>;
  /** How long `close()` lets a request in hand finish before dropping its client. */
  closeGraceMs?: number;
  /** Who a client is (default: the kernel's peer credentials, peer-cred.ts). */
  readPeer?: PeerReader;
}

export interface ControlServer {
  /** Stops accepting, lets requests in hand finish briefly, closes every client, removes the socket. */
  close(): Promise<void>;
  /** Clients connected now. */
  clients(): number;
  /**
   * Listens again at the socket path (the file was removed, e.g. with its directory): a new
   * listener takes the path; connected clients stay connected.
   */
  relisten(): Promise<void>;
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(path, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/**
 * Creates the socket (and its directory) and starts serving `ctx`. Rejects if the path is
 * unusable (something other than a socket there, an unknown group, a permission error).
 */
export async function startControlServer(ctx: DaemonContext, opts: ControlServerOptions): Promise<ControlServer> {
  const limits: Limits = { ...LIMITS, ...opts.limits };
  const log = ctx.log.child({ module: 'ipc' });
  const gid = opts.socketGroup === undefined ? undefined : await lookupGroup(opts.socketGroup);
  await prepareSocketDir(dirname(opts.socketPath), gid);
  if (await removeStaleSocket(opts.socketPath)) log.info({ socket: opts.socketPath }, 'replaced a stale control socket');

  const connections = new Set<ClientConnection>();
  const budget = new ReadBudget(limits.maxTotalQueuedBytes);
  const onEvent = (event: EngineEvent) => {
    for (const c of connections) if (c.subscribed) c.deliver(event);
  };

  let nextClient = 1;
  const accept = (socket: Socket) => {
    if (connections.size >= limits.maxClients) {
      socket.on('error', () => {});
      socket.end(encodeLine({ id: null, error: { code: ERROR_CODES.EBUSY, message: `too many clients (${limits.maxClients}); try again later` } }));
      setTimeout(() => socket.destroy(), 1000).unref();
      log.warn({ max: limits.maxClients }, 'control client refused: too many clients');
      return;
    }
    // Who the client is, read once: the kernel's word for the connection's whole life.
    const peer = (opts.readPeer ?? readPeer)(socket);
    const conn = new ClientConnection(socket, ctx, limits, log.child({ client: nextClient++, ...(peer ? { uid: peer.uid } : {}) }), budget, peer);
    connections.add(conn);
    socket.on('close', () => connections.delete(conn));
  };
  const newServer = () => {
    const srv = createServer({ allowHalfOpen: true, pauseOnConnect: false }, accept);
    srv.on('error', (err) => log.error({ err }, 'control socket error'));
    return srv;
  };
  let server = newServer();

  await listen(server, opts.socketPath);
  try {
    await secureSocket(opts.socketPath, gid);
  } catch (err) {
    server.close();
    throw err;
  }
  ctx.engine.on('event', onEvent);
  log.info({ socket: opts.socketPath, group: opts.socketGroup }, 'control socket listening');

  let closing: Promise<void> | undefined;
  return {
    clients: () => connections.size,
    async relisten() {
      if (closing) return;
      // The old listener first: closing it unlinks its path (libuv), which is the new one's too.
      // Its clients stay connected until they leave.
      server.close();
      server = newServer();
      await removeStaleSocket(opts.socketPath);
      await listen(server, opts.socketPath);
      await secureSocket(opts.socketPath, gid);
      log.warn({ socket: opts.socketPath }, 'control socket file was gone; listening again');
    },
    close: () =>
      (closing ??= (async () => {
        ctx.engine.off('event', onEvent);
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        await Promise.all([...connections].map((c) => c.shutdown(opts.closeGraceMs ?? 5000)));
        await closed;
        await unlink(opts.socketPath).catch(() => {});
      })()),
  };
}
