/**
 * The control-socket client used by jitctl (and tests): one connection, many calls told apart by
 * id, event streams from `subscribe`. The connection is any duplex byte stream speaking the
 * socket protocol: the Unix socket itself, or `ssh … jitctl dial-stdio` (src/cli/ssh-transport.ts).
 * Failures are typed: {@link DaemonUnreachableError} when there is no daemon to talk to or the
 * connection is lost (jitctl exit 3), {@link DaemonRequestError} when the daemon answered with
 * an error (exit 1).
 */
import { createConnection } from 'node:net';
import type { Duplex } from 'node:stream';
import { JitdError } from '../fsio/errors.js';
import type { EngineEvent, EngineEventType } from '../jobs/events.js';
import { LineSplitter } from './framing.js';
import type { Method, ParamsOf, ResultOf } from './messages/index.js';
import type { ErrorBody } from './protocol.js';

/** Responses may be large (a page of requests); bound them all the same. */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** No daemon at the socket (absent, refused, not permitted), or the connection was lost. */
export class DaemonUnreachableError extends JitdError {
  constructor(message: string, cause?: unknown) {
    super('EUNREACHABLE', message, { cause });
  }
}

/** The daemon answered a request with an error; `code` is the protocol's error code. */
export class DaemonRequestError extends JitdError {}

function unreachable(socketPath: string, err: NodeJS.ErrnoException): DaemonUnreachableError {
  switch (err.code) {
    case 'ENOENT':
      return new DaemonUnreachableError(`jitd is not running: no control socket at ${socketPath}`, err);
    case 'ECONNREFUSED':
      return new DaemonUnreachableError(`jitd is not running: nothing is listening on ${socketPath}`, err);
    case 'EACCES':
    case 'EPERM':
      return new DaemonUnreachableError(`permission denied on ${socketPath} (run as the daemon's user or a member of its socketGroup)`, err);
    default:
      return new DaemonUnreachableError(`cannot connect to ${socketPath}: ${err.message}`, err);
  }
}

interface Waiter {
  resolve(result: unknown): void;
  reject(err: Error): void;
}

export class ControlClient {
  private nextId = 1;
  private readonly waiters = new Map<number, Waiter>();
  private readonly streams = new Map<number, (event: EngineEvent) => void>();
  private lost: Error | undefined;
  private closedByUs = false;
  /** Resolves when the connection is closed, by either side. */
  readonly closed: Promise<void>;

  /**
   * A client over an open duplex stream (`label` names the far end in messages). A transport
   * that knows why it ended (ssh's own message) destroys the stream with a
   * DaemonUnreachableError, which is reported as it is.
   */
  constructor(
    private readonly socket: Duplex,
    readonly socketPath: string,
  ) {
    const splitter = new LineSplitter(MAX_RESPONSE_BYTES, {
      line: (bytes) => this.onLine(bytes),
      tooBig: () => this.fail(new DaemonUnreachableError('response from jitd too large')),
    });
    socket.on('data', (chunk: Buffer) => splitter.push(chunk));
    socket.on('error', (err) =>
      this.fail(err instanceof DaemonUnreachableError ? err : new DaemonUnreachableError(`connection to jitd failed: ${err.message}`, err)),
    );
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.fail(new DaemonUnreachableError('jitd closed the connection'));
        resolve();
      }),
    );
  }

  /** Connects to the daemon's socket. Rejects with DaemonUnreachableError if nobody answers. */
  static connect(socketPath: string, timeoutMs = 10_000): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(socketPath);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new DaemonUnreachableError(`jitd did not accept a connection on ${socketPath} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(unreachable(socketPath, err));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new ControlClient(socket, socketPath));
      });
    });
  }

  /** Sends one request and resolves with its result; rejects with DaemonRequestError on an error response. */
  call<M extends Method>(method: M, params?: ParamsOf<M>): Promise<ResultOf<M>> {
    if (this.lost) return Promise.reject(this.lost);
    const id = this.nextId++;
    return new Promise<ResultOf<M>>((resolve, reject) => {
      this.waiters.set(id, { resolve: resolve as (r: unknown) => void, reject });
      this.socket.write(`${JSON.stringify({ id, method, ...(params ? { params } : {}) })}\n`);
    });
  }

  /**
   * Subscribes to engine events (of `types`, or all). Resolves once the daemon has confirmed;
   * `onEvent` is then called for each event until the connection closes.
   */
  async subscribe(onEvent: (event: EngineEvent) => void, types?: readonly EngineEventType[]): Promise<void> {
    const id = this.nextId;
    this.streams.set(id, onEvent);
    try {
      await this.call('subscribe', types ? { types: [...types] } : {});
    } catch (err) {
      this.streams.delete(id);
      throw err;
    }
  }

  /** Why the connection was lost (undefined while it is up, or if this side closed it). */
  get lostError(): Error | undefined {
    return this.closedByUs ? undefined : this.lost;
  }

  /** Closes the connection (once what was written is sent). */
  close(): void {
    this.closedByUs = true;
    if (this.socket.destroyed) return;
    this.socket.end();
    // The far end closes its side once it sees ours end; do not wait on a far end that does not.
    const t = setTimeout(() => this.socket.destroy(), 2000);
    t.unref();
    this.socket.once('close', () => clearTimeout(t));
  }

  private onLine(bytes: Buffer): void {
    let msg: { id?: unknown; result?: unknown; error?: ErrorBody; event?: EngineEvent };
    try {
      msg = JSON.parse(bytes.toString('utf8'));
    } catch {
      this.fail(new DaemonUnreachableError('jitd sent a line that is not JSON'));
      return;
    }
    if (typeof msg.id !== 'number') {
      // Errors not tied to a request (EBUSY, ETOOBIG, EPARSE) fail everything in flight.
      if (msg.error) this.fail(new DaemonRequestError(msg.error.code, msg.error.message));
      return;
    }
    if (msg.event !== undefined) {
      this.streams.get(msg.id)?.(msg.event);
      return;
    }
    const waiter = this.waiters.get(msg.id);
    if (!waiter) return;
    this.waiters.delete(msg.id);
    if (msg.error) waiter.reject(new DaemonRequestError(String(msg.error.code), String(msg.error.message)));
    else waiter.resolve(msg.result);
  }

  private fail(err: Error): void {
    this.lost ??= err;
    for (const w of this.waiters.values()) w.reject(err);
    this.waiters.clear();
    if (!this.socket.destroyed) this.socket.destroy();
  }
}
