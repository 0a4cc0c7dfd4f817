/**
 * The one timer for automatic retries: armed for the earliest failed request whose back-off
 * (`nextAttemptAt`, set by transitions.ts `fail`) runs out; when it fires, the caller looks
 * again (a sync retries what is due). Re-armed after every failure and every reconcile.
 */
import type { RequestStore } from '../requests/request-store.js';

export class RetryTimer {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly store: RequestStore,
    private readonly onDue: () => void,
  ) {}

  /** Arms one timer for the earliest failed request that is due for an automatic retry. */
  schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.stopped) return;
    let next = Infinity;
    for (const r of this.store.all()) if (r.state === 'failed' && r.nextAttemptAt !== undefined && r.nextAttemptAt < next) next = r.nextAttemptAt;
    if (next === Infinity) return;
    const wait = Math.max(0, next - Date.now());
    this.timer = setTimeout(this.onDue, Math.min(wait, 2 ** 31 - 1));
    this.timer.unref();
  }

  /** No more automatic retries (shutdown). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
