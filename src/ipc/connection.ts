/**
 * One control-socket client: framing, request dispatch, event streaming and the per-client
 * guards. Requests on one connection are answered in order, one at a time; reading pauses when
 * too many requests or too many bytes of them are queued (per client, and across all clients
 * through the server's ReadBudget), and answering waits while the client is not reading its
 * responses. Nothing a client sends can throw out of here: every failure becomes an error
 * response or closes this client.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { JitdError } from '../fsio/errors.js';
import type { EngineEvent, EngineEventType } from '../jobs/events.js';
import type { Peer } from '../requests/provenance.js';
import type { DaemonContext } from './context.js';
import { LineSplitter } from './framing.js';
import type { HandlerCall } from './handlers/handler.js';
import { describeIssues, encodeLine, EnvelopeSchema, ERROR_CODES, type ErrorBody, type Limits, type RequestId, type Response } from './protocol.js';
import type { BudgetMember, ReadBudget } from './read-budget.js';
import { lookupHandler, METHODS } from './registry.js';

type Inbound = { kind: 'line'; bytes: Buffer } | { kind: 'toobig' };

const sizeOf = (item: Inbound): number => (item.kind === 'line' ? item.bytes.length : 0);

interface Subscription {
  id: RequestId;
  types: ReadonlySet<EngineEventType> | undefined;
  /** Events held until the `subscribe` response has been written. */
  held: EngineEvent[] | undefined;
}

export class ClientConnection implements BudgetMember {
  private readonly splitter: LineSplitter;
  private readonly queue: Inbound[] = [];
  private readonly subs: Subscription[] = [];
  private pumping = false;
  private inputEnded = false;
  private closing = false;
  /** Reading paused because this client has too much queued. */
  private selfPaused = false;
  /** Reading paused because all clients together have too much queued. */
  private budgetPaused = false;
  private reading = true;
  private queued = 0;
  private waitingForReader = false;
  private partialTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private idleSince = Date.now();
  private settled: Promise<void> = Promise.resolve();

  constructor(
    readonly socket: Socket,
    private readonly ctx: DaemonContext,
    private readonly limits: Limits,
    private readonly log: Logger,
    private readonly budget: ReadBudget,
    /** Who the client is (SO_PEERCRED, read once at accept); undefined without the native helper. */
    readonly peer?: Peer,
  ) {
    this.splitter = new LineSplitter(limits.maxLineBytes, {
      line: (bytes) => this.enqueue({ kind: 'line', bytes }),
      tooBig: () => this.enqueue({ kind: 'toobig' }),
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => {
      this.inputEnded = true;
      this.splitter.end();
      this.clearPartialTimer();
      this.maybeFinish();
    });
    socket.on('error', (err) => this.log.debug({ err: err.message }, 'client socket error'));
    socket.on('close', () => this.dispose());
    this.armIdleTimer();
    budget.join(this);
  }

  /** Bytes of request lines read and not yet answered (the one being handled included). */
  get queuedBytes(): number {
    return this.queued;
  }

  /** True while the next request waits for the client to read earlier responses. */
  get stalled(): boolean {
    return this.waitingForReader;
  }

  /** Called by the ReadBudget: pause or resume reading for the server's sake. */
  setBudgetPause(paused: boolean): void {
    this.budgetPaused = paused;
    this.updateReading();
  }

  /** Called by the ReadBudget: this client's queued requests hold budget it will not release. */
  evict(why: string): void {
    this.closing = true;
    this.drop(why);
    this.discardQueue();
  }

  /** True while the client has a live event subscription. */
  get subscribed(): boolean {
    return this.subs.length > 0;
  }

  /** Delivers an engine event to this client's subscriptions. */
  deliver(event: EngineEvent): void {
    for (const sub of this.subs) {
      if (sub.types && !sub.types.has(event.type)) continue;
      if (sub.held) sub.held.push(event);
      else this.write({ id: sub.id, event });
    }
  }

  /**
   * Stops reading, lets the request in hand finish (up to `graceMs`), then closes the socket.
   */
  async shutdown(graceMs: number): Promise<void> {
    this.closing = true;
    this.discardQueue();
    this.updateReading();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.settled, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    if (this.socket.destroyed) return;
    // Flush what was answered, then make sure the socket goes even if the client never reads.
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    this.idleSince = Date.now();
    this.splitter.push(chunk);
    if (this.splitter.partial && this.reading) this.armPartialTimer();
    else this.clearPartialTimer();
  }

  /** The clock for finishing a started line runs only while the daemon is reading from the client. */
  private armPartialTimer(): void {
    this.partialTimer ??= setTimeout(() => {
      if (this.splitter.partial) this.drop(`partial line held over ${this.limits.partialLineMs} ms`);
    }, this.limits.partialLineMs).unref();
  }

  /** Pauses or resumes the socket to match the per-client and server-wide budgets. */
  private updateReading(): void {
    const want = !this.closing && !this.selfPaused && !this.budgetPaused;
    if (want === this.reading) return;
    this.reading = want;
    if (want) {
      this.socket.resume();
      if (this.splitter.partial) this.armPartialTimer();
    } else {
      this.socket.pause();
      this.clearPartialTimer();
    }
  }

  private clearPartialTimer(): void {
    if (this.partialTimer) clearTimeout(this.partialTimer);
    this.partialTimer = undefined;
  }

  private armIdleTimer(): void {
    const wait = Math.max(10, this.idleSince + this.limits.idleMs - Date.now());
    this.idleTimer = setTimeout(() => {
      if (this.socket.destroyed) return;
      const quiet = Date.now() - this.idleSince >= this.limits.idleMs;
      if (quiet && !this.subscribed && !this.pumping && this.queue.length === 0) this.drop(`idle over ${this.limits.idleMs} ms`);
      else this.armIdleTimer();
    }, wait).unref();
  }

  private drop(why: string): void {
    this.log.info({ why }, 'closing control client');
    this.socket.destroy();
  }

  private enqueue(item: Inbound): void {
    if (this.closing) return;
    this.queue.push(item);
    const bytes = sizeOf(item);
    this.queued += bytes;
    if (this.queue.length >= this.limits.maxQueuedRequests || this.queued >= this.limits.maxQueuedBytes) {
      this.selfPaused = true;
      this.updateReading();
    }
    // After the client's own check: going over the server-wide budget may evict this client.
    this.budget.add(bytes);
    if (!this.pumping && !this.socket.destroyed) this.settled = this.pump();
  }

  /** An item is answered or dropped: its bytes no longer count, and reading may resume. */
  private settle(item: Inbound): void {
    const bytes = sizeOf(item);
    this.queued -= bytes;
    this.budget.release(bytes);
    if (this.selfPaused && this.queue.length <= this.limits.maxQueuedRequests / 2 && this.queued <= this.limits.maxQueuedBytes / 2) {
      this.selfPaused = false;
      this.updateReading();
    }
  }

  private discardQueue(): void {
    for (const item of this.queue.splice(0)) this.settle(item);
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      for (let item = this.queue.shift(); item; item = this.queue.shift()) {
        try {
          if (this.socket.destroyed) continue;
          // A client that does not read its responses gets no more work done for it.
          if (this.socket.writableNeedDrain) {
            this.waitingForReader = true;
            this.budget.noteStalled();
            await this.drained();
            this.waitingForReader = false;
          }
          if (this.socket.destroyed) continue;
          if (item.kind === 'toobig') {
            this.write({ id: null, error: { code: ERROR_CODES.ETOOBIG, message: `request line over ${this.limits.maxLineBytes} bytes; discarded` } });
          } else {
            await this.handleLine(item.bytes);
          }
        } finally {
          this.settle(item);
        }
      }
    } finally {
      this.pumping = false;
      this.maybeFinish();
    }
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  /** After the client's EOF: close once every request is answered, unless it streams events. */
  private maybeFinish(): void {
    if (this.inputEnded && !this.pumping && this.queue.length === 0 && !this.subscribed && !this.socket.destroyed) this.socket.end();
  }

  private async handleLine(bytes: Buffer): Promise<void> {
    const text = bytes.toString('utf8');
    if (text.trim() === '') return;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      this.write({ id: null, error: { code: ERROR_CODES.EPARSE, message: `not JSON: ${(err as Error).message}` } });
      return;
    }
    const env = EnvelopeSchema.safeParse(raw);
    if (!env.success) {
      const rawId = (raw as { id?: unknown } | null)?.id;
      const id = typeof rawId === 'string' || typeof rawId === 'number' ? rawId : null;
      this.write({ id, error: { code: ERROR_CODES.EINVALID, message: describeIssues(env.error.issues, '') } });
      return;
    }
    const { id, method } = env.data;
    const handler = lookupHandler(method);
    if (!handler) {
      this.write({ id, error: { code: ERROR_CODES.EMETHOD, message: `unknown method ${JSON.stringify(method.slice(0, 100))}; known: ${METHODS.join(', ')}` } });
      return;
    }
    const params = handler.params.safeParse(env.data.params ?? {});
    if (!params.success) {
      this.write({ id, error: { code: ERROR_CODES.EINVALID, message: describeIssues(params.error.issues, 'params') } });
      return;
    }
    // A subscription is attached at once (events are held until the response is written), so
    // nothing emitted while the handler runs is lost.
    const added: Subscription[] = [];
    const call: HandlerCall = {
      id,
      ...(this.peer ? { peer: this.peer } : {}),
      subscribe: (types) => {
        const sub: Subscription = { id, types: types ? new Set(types) : undefined, held: [] };
        added.push(sub);
        this.subs.push(sub);
      },
    };
    let response: Response;
    try {
      response = { id, result: await handler.handle(this.ctx, params.data, call) };
    } catch (err) {
      response = { id, error: this.errorBody(err, method) };
    }
    const ok = this.write(response) && 'result' in response;
    for (const sub of added) {
      if (!ok) {
        this.subs.splice(this.subs.indexOf(sub), 1);
        continue;
      }
      const held = sub.held ?? [];
      sub.held = undefined;
      for (const event of held) this.write({ id: sub.id, event });
    }
  }

  private errorBody(err: unknown, method: string): ErrorBody {
    if (err instanceof JitdError) return { code: err.code, message: err.message };
    this.log.error({ err, method }, 'control request failed');
    return { code: ERROR_CODES.EINTERNAL, message: `internal error: ${(err as Error)?.message ?? String(err)}` };
  }

  /** Writes one line; false if it could not be (closed, unserialisable, client too far behind). */
  private write(value: Response | { id: RequestId; event: EngineEvent }): boolean {
    if (this.socket.destroyed || !this.socket.writable) return false;
    let line: string;
    try {
      line = encodeLine(value);
    } catch (err) {
      if (!('result' in value)) return false;
      this.log.error({ err }, 'control response not serialisable');
      line = encodeLine({ id: value.id, error: { code: ERROR_CODES.EINTERNAL, message: 'internal error: response not serialisable' } });
    }
    this.socket.write(line);
    if (this.socket.writableLength > this.limits.maxPendingWriteBytes) {
      this.drop(`client not reading: ${this.socket.writableLength} bytes unsent`);
      return false;
    }
    return true;
  }

  private dispose(): void {
    this.closing = true;
    this.budget.leave(this);
    this.discardQueue();
    this.subs.length = 0;
    this.splitter.reset();
    this.clearPartialTimer();
    if (this.idleTimer) clearTimeout(this.idleTimer);
  }
}
