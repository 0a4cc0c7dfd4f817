/**
 * The server-wide budget of request bytes read ahead: lines read from clients and not yet
 * answered, summed over every connection. Each client is bounded on its own (connection.ts);
 * this bounds the sum, so thousands of clients cannot each hold their few MiB. Above the budget
 * the server stops reading from every client, and resumes once the queues have drained to half
 * of it. Requests queued by a client that does not read its replies never drain, so while
 * reading is paused such clients are dropped, largest first, until what they hold is no more
 * than half the budget: the pause always ends.
 */

/** One connection, as the budget sees it. */
export interface BudgetMember {
  /** Bytes of request lines this client has read and not yet had answered. */
  readonly queuedBytes: number;
  /** True while its next request waits for it to read the replies already sent. */
  readonly stalled: boolean;
  /** Pauses (true) or resumes (false) reading on behalf of the budget. */
  setBudgetPause(paused: boolean): void;
  /** Closes the client: it holds budget it will not release. */
  evict(why: string): void;
}

export class ReadBudget {
  private total = 0;
  private over = false;
  private readonly members = new Set<BudgetMember>();

  constructor(private readonly maxBytes: number) {}

  /** True while reading is paused everywhere. */
  get paused(): boolean {
    return this.over;
  }

  /** Bytes queued across all clients now. */
  get queuedBytes(): number {
    return this.total;
  }

  /** Registers a new connection; it starts paused if the budget is exhausted. */
  join(member: BudgetMember): void {
    this.members.add(member);
    if (this.over) member.setBudgetPause(true);
  }

  /** Forgets a connection (its bytes are released separately, as its requests finish). */
  leave(member: BudgetMember): void {
    this.members.delete(member);
  }

  /** Accounts for `bytes` just queued; over the budget, pauses reading everywhere. */
  add(bytes: number): void {
    this.total += bytes;
    if (this.over || this.total <= this.maxBytes) return;
    this.over = true;
    for (const m of this.members) m.setBudgetPause(true);
    this.evictStalled();
  }

  /** Accounts for `bytes` answered or discarded; resumes reading once at half the budget. */
  release(bytes: number): void {
    this.total -= bytes;
    if (!this.over || this.total > this.maxBytes / 2) return;
    this.over = false;
    for (const m of this.members) m.setBudgetPause(false);
  }

  /** A connection started waiting for its client to read: while paused, it may have to go. */
  noteStalled(): void {
    if (this.over) this.evictStalled();
  }

  private evictStalled(): void {
    const stalled = [...this.members].filter((m) => m.stalled && m.queuedBytes > 0).sort((a, b) => b.queuedBytes - a.queuedBytes);
    let stuck = stalled.reduce((sum, m) => sum + m.queuedBytes, 0);
    const why = `not reading its replies while clients have ${this.total} bytes of requests queued (budget ${this.maxBytes})`;
    for (const m of stalled) {
      if (stuck <= this.maxBytes / 2) break;
      stuck -= m.queuedBytes;
      this.members.delete(m);
      m.evict(why);
    }
  }
}
