/**
 * Coalescing of a repeated background task (a full reconcile after watcher errors): a burst of
 * triggers costs one run, yet a trigger that arrives while a run is already going still gets a
 * run that starts after it, so nothing that happened during the run is missed.
 */

/**
 * Wraps `task`: a call while a run is queued and not yet started adds nothing (it shares that
 * run's promise); a call while a run is going queues exactly one more, started when it settles.
 * Runs never overlap. The returned promise settles as the run it joined does.
 */
export function coalesce<T>(task: () => Promise<T>): () => Promise<T> {
  let queued: Promise<T> | undefined;
  let last: Promise<unknown> = Promise.resolve();
  return () => {
    if (queued) return queued;
    const run = last
      .catch(() => undefined)
      .then(() => {
        queued = undefined;
        return task();
      });
    queued = run;
    last = run;
    return run;
  };
}
