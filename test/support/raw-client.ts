/**
 * The one raw client of the control socket in the tests: bytes in, JSON lines out, nothing
 * validated. For frames the real client (src/ipc/client.ts) refuses to send or cannot observe:
 * malformed, split, oversized or flooding frames, silent and slow connections, exact response
 * order. Every other test talks through ControlClient or jitctl.
 *
 * Each line received is kept three ways: in arrival order for {@link RawClient.next}, and split
 * into `responses` and `events` (`{"id","event"}` lines of a subscription) for tests that count.
 */
import { connect, type Socket } from 'node:net';

type Line = { json: any } | { unparsable: string };

export class RawClient {
  /** Every response line so far (parsed), in order. */
  readonly responses: any[] = [];
  /** Every event line of a subscription so far (parsed), in order. */
  readonly events: any[] = [];
  /** Lines that were not JSON (first 200 characters). */
  readonly unparsable: string[] = [];
  /** Resolves when the connection has closed (either side). */
  readonly closed: Promise<void>;
  isClosed = false;
  private readonly lines: Line[] = [];
  private cursor = 0;
  private buf = '';
  private waiters: Array<() => void> = [];
  private static ids = 0;

  private constructor(
    readonly socket: Socket,
    reading: boolean,
  ) {
    socket.setEncoding('utf8');
    // A client that never reads (the server's writes back up against it) attaches no reader.
    if (reading)
      socket.on('data', (chunk: string) => {
        this.buf += chunk;
        for (let nl = this.buf.indexOf('\n'); nl >= 0; nl = this.buf.indexOf('\n')) {
          this.take(this.buf.slice(0, nl));
          this.buf = this.buf.slice(nl + 1);
        }
        this.wake();
      });
    socket.on('error', () => undefined);
    this.closed = new Promise((res) =>
      socket.on('close', () => {
        this.isClosed = true;
        this.wake();
        res();
      }),
    );
  }

  /**
   * Connects to the Unix socket at `path` (rejects on error, or after `timeoutMs`). With
   * `reading: false` nothing is ever read from the socket (a deaf client).
   */
  static connect(path: string, timeoutMs = 10_000, opts: { reading?: boolean } = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect(path);
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`connect timeout on ${path}`));
      }, timeoutMs);
      s.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(new RawClient(s, opts.reading ?? true));
      });
    });
  }

  private take(line: string): void {
    let json: any;
    try {
      json = JSON.parse(line);
    } catch {
      this.unparsable.push(line.slice(0, 200));
      this.lines.push({ unparsable: line.slice(0, 200) });
      return;
    }
    if (json && typeof json === 'object' && 'event' in json) this.events.push(json);
    else this.responses.push(json);
    this.lines.push({ json });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until `ok()` holds, rejecting with `what` after `timeoutMs` or when the connection closes first. */
  private async until(ok: () => boolean, what: () => string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ok()) {
      if (this.isClosed) throw new Error(`connection closed before ${what()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what()} within ${timeoutMs} ms`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  send(data: string | Buffer): boolean {
    return this.socket.write(data);
  }

  /** The next line received (response or event), parsed; rejects on a line that is not JSON. */
  async next(timeoutMs = 10_000): Promise<any> {
    await this.until(
      () => this.cursor < this.lines.length,
      () => 'line',
      timeoutMs,
    );
    const line = this.lines[this.cursor++]!;
    if ('unparsable' in line) throw new Error(`a line that is not JSON: ${line.unparsable}`);
    return line.json;
  }

  /** Sends one request and answers the next line received (for tests of response order). */
  request(method: string, params?: unknown, id: string | number = `r${++RawClient.ids}`): Promise<any> {
    this.send(`${JSON.stringify({ id, method, ...(params === undefined ? {} : { params }) })}\n`);
    return this.next();
  }

  /** Sends one request and answers its response, matched by id (other lines may come between). */
  async call(method: string, params?: unknown, timeoutMs = 10_000): Promise<any> {
    const id = `c${++RawClient.ids}`;
    this.send(`${JSON.stringify({ id, method, ...(params === undefined ? {} : { params }) })}\n`);
    let hit: any;
    await this.until(
      () => (hit = this.responses.find((r) => r?.id === id)) !== undefined,
      () => `response to ${method}`,
      timeoutMs,
    );
    return hit;
  }

  /** Resolves once `n` responses have arrived. */
  async waitResponses(n: number, timeoutMs = 10_000): Promise<any[]> {
    await this.until(
      () => this.responses.length >= n,
      () => `${n} responses (${this.responses.length} so far)`,
      timeoutMs,
    );
    return this.responses.slice(0, n);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Connects a raw client to `socketPath`. */
export const rawClient = (socketPath: string, timeoutMs?: number): Promise<RawClient> => RawClient.connect(socketPath, timeoutMs);

/** One request on a fresh connection, answered by id. */
export async function rawCall(path: string, method: string, params?: unknown, timeoutMs = 10_000): Promise<any> {
  const c = await RawClient.connect(path, timeoutMs);
  try {
    return await c.call(method, params, timeoutMs);
  } finally {
    c.close();
  }
}
