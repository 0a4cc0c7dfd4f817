/**
 * A repeating background check that stops itself: the daemon's fallback while its watcher is
 * impaired (rescan, try to watch again) runs every few seconds until the check says it is done.
 */

export interface Repeater {
  /** Starts the ticks unless they are running already. */
  start(): void;
  stop(): void;
  readonly running: boolean;
}

/**
 * Calls `tick` every `ms` once started, never two at once, until it answers false (done) or
 * `stop()`. A tick that throws counts as "not done". The timer does not keep the process alive.
 */
export function repeatUntilDone(ms: number, tick: () => Promise<boolean>, onError: (err: unknown) => void): Repeater {
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    timer = setTimeout(async () => {
      let again = true;
      try {
        again = await tick();
      } catch (err) {
        onError(err);
      }
      if (timer === undefined) return; // stopped meanwhile
      if (again) schedule();
      else timer = undefined;
    }, ms);
    timer.unref();
  };
  return {
    start() {
      if (timer === undefined) schedule();
    },
    stop() {
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
    get running() {
      return timer !== undefined;
    },
  };
}
