/**
 * `jitd`: the long-running service. Start-up order matters and is the order of this file:
 *
 *   config → logger → signal handlers → lock (one daemon per library) → engine start (start-up
 *   reconcile) and watcher → socket → READY=1.
 *
 * Readiness is signalled only when reconcile, lock and socket are all up. SIGTERM/SIGINT stop
 * intake, let the install in hand finish (model calls in flight are aborted; their answers are
 * kept), close the socket, release the lock and exit 0. SIGHUP runs a full reconcile. Signals are
 * taken over before the start-up reconcile: during start-up a SIGHUP marks the library dirty (one
 * more reconcile once started) and a SIGTERM/SIGINT stops the daemon, exit 0, at the next safe
 * point (the lock taken, the start-up reconcile done, the socket up), never half-way through a
 * reconcile. A failed fsync anywhere is fatal (exit 1): the next start reconciles from what is
 * really on disk.
 *
 * This module never reads the test-only fault injection (JITD_TEST_*): a caller that wants it
 * passes `wrapFs` (only test/support/jitd-under-test.mjs does).
 */
import type { Logger } from 'pino';
import { ensureDurableDir } from '../fsio/durable-dir.js';
import type { FsLayer } from '../fsio/fs-layer.js';
import { exchangeSync } from '../fsio/exchange.js';
import { nodeFs } from '../fsio/node-fs.js';
import { FsyncFailedError } from '../fsio/errors.js';
import { createProvider } from '../generation/create-provider.js';
import { readApiKey } from '../generation/credentials.js';
import type { DaemonContext } from '../ipc/context.js';
import { startControlServer, type ControlServer } from '../ipc/server.js';
import { Engine } from '../jobs/engine.js';
import { HookRunner } from '../hooks/hook-runner.js';
import { dirname } from 'node:path';
import { loadConfig, type Config } from '../library/config.js';
import { acquireLibraryLock } from '../lock/library-lock.js';
import { VERSION } from '../version.js';
import { startTreeGuard, type TreeGuard } from '../watch/tree-guard.js';
import { LOSS_CHECK_MS, startWatcher, type LibraryWatcher, type TreeStatus } from '../watch/watcher.js';
import { coalesce } from './coalesce.js';
import { repeatUntilDone, type Repeater } from './repeat.js';
import { createLogger } from './logger.js';
import { notifyReady, notifyStopping } from './sd-notify.js';

export interface DaemonHandle {
  /** Resolves with the exit code once the daemon has stopped. */
  exited: Promise<number>;
  stop(): Promise<void>;
}

/** How a caller may adapt the daemon; the production bin passes nothing. */
export interface RunDaemonOptions {
  /**
   * Wraps the file-system layer every library write goes through, once the config is known.
   * The test entry point uses it for fault injection; the default is the real file system.
   */
  wrapFs?: (fs: FsLayer, config: Config) => FsLayer;
}

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;
/** How often an impaired watcher (a directory it could not watch) is rescanned and retried. */
const IMPAIRED_RETRY_MS = 30_000;

/**
 * Starts jitd for `configFile`; throws (ConfigError, LockHeldError...) if it cannot start.
 * Resolves once the daemon is ready, or once a stop signal received during start-up has
 * begun a clean stop (then `exited` resolves 0 without the daemon ever becoming ready).
 */
export async function runDaemon(configFile: string, env: NodeJS.ProcessEnv = process.env, options: RunDaemonOptions = {}): Promise<DaemonHandle> {
  const config: Config = await loadConfig(configFile, env);
  const apiKey = config.provider.kind === 'openai' ? readApiKey(env) : undefined;
  const log: Logger = createLogger({ level: config.log.level, secrets: apiKey ? [apiKey] : [] });
  const fs = options.wrapFs ? options.wrapFs(nodeFs, config) : nodeFs;

  // Until the daemon is ready a stop signal is only recorded and honoured at a safe point: the
  // default action (death by signal) would skip the stop sequence, and stopping in the middle of
  // the start-up reconcile would leave its work to the next start.
  let ready = false;
  let stopRequested: NodeJS.Signals | undefined;
  let onStopSignal: (sig: NodeJS.Signals) => void = (sig) => {
    log.info({ signal: sig }, 'signal received during start-up; stopping once start-up reaches a safe point');
    stopRequested ??= sig;
  };
  // Hints (and SIGHUP) that arrive before the start-up reconcile has finished mark the library
  // dirty; it is reconciled once more when both are ready, so nothing changed during start-up
  // is missed.
  let started = false;
  let dirty = false;
  let onHangup: () => void = () => (dirty = true);
  const stopSignal = (sig: NodeJS.Signals) => onStopSignal(sig);
  const hangup = () => onHangup();
  for (const sig of STOP_SIGNALS) process.on(sig, stopSignal);
  process.on('SIGHUP', hangup);
  const removeSignalHandlers = () => {
    for (const sig of STOP_SIGNALS) process.off(sig, stopSignal);
    process.off('SIGHUP', hangup);
  };

  let lock: Awaited<ReturnType<typeof acquireLibraryLock>>;
  try {
    await ensureDurableDir(fs, config.stateDir, 0o700);
    lock = await acquireLibraryLock({ mapFile: config.mapFile, componentsDir: config.componentsDir, stateDir: config.stateDir });
  } catch (err) {
    removeSignalHandlers();
    throw err;
  }
  // The tree can change under jitd (contract §4.7): see tree-guard.ts.
  let guard: TreeGuard;
  try {
    guard = await startTreeGuard({ fs, componentsDir: config.componentsDir, stateDir: config.stateDir, socketPath: config.socketPath, log });
  } catch (err) {
    await lock.release();
    removeSignalHandlers();
    throw err;
  }
  log.info(
    {
      version: VERSION,
      mapPublish: exchangeSync ? 'renameat2 exchange' : 'guarded rename (the native helper is not built)',
      config: config.configFile,
      map: config.mapFile,
      components: config.componentsDir,
      state: config.stateDir,
      lock: lock.name,
    },
    'jitd starting',
  );

  let exit: (code: number) => void = () => undefined;
  const exited = new Promise<number>((res) => (exit = res));
  const notifyFailed = (err: unknown) => log.warn({ err }, 'could not notify systemd');
  const fatal = (err: unknown) => {
    log.fatal({ err }, err instanceof FsyncFailedError ? 'fsync failed; stopping (restart reconciles from disk)' : 'fatal error');
    exit(1);
  };

  let engine: Engine | undefined;
  let hooks: HookRunner | undefined;
  let watcher: LibraryWatcher | undefined;
  let server: ControlServer | undefined;
  let periodic: NodeJS.Timeout | undefined;
  let impaired: Repeater | undefined;
  let stopping: Promise<void> | undefined;
  // Stops whatever has been started so far: the same sequence for a ready daemon and for one
  // asked to stop during start-up.
  const stop = () =>
    (stopping ??= (async () => {
      log.info(ready ? 'stopping' : 'stopping before ready');
      await notifyStopping({ onError: notifyFailed });
      if (periodic) clearInterval(periodic);
      impaired?.stop();
      await server?.close();
      await watcher?.close();
      await engine?.stop();
      await hooks?.close();
      await lock.release();
      await guard.close();
      removeSignalHandlers();
      log.info(ready ? 'stopped' : 'stopped before ready');
      exit(0);
    })().catch((err) => {
      fatal(err);
    }));
  const handle: DaemonHandle = { exited, stop };
  const stopIfRequested = (): boolean => {
    if (stopRequested === undefined) return false;
    void stop();
    return true;
  };

  try {
    if (stopIfRequested()) return handle;
    const provider = await createProvider(config.provider, env);
    const eng = new Engine({ fs, config, provider, log, onFatal: fatal });
    engine = eng;
    eng.on('event', (e) => log.debug({ event: e }, e.type));
    // Event hooks (contract §9): fed by engine events, never blocking the engine.
    const hookRunner = new HookRunner({ hooks: config.hooks, cwd: dirname(config.configFile), log, env });
    hooks = hookRunner;
    eng.on('event', (e) => hookRunner.onEvent(e));

    // A background reconcile has nobody to answer: only a failed fsync stops the daemon; any
    // other error is logged (and in status) and the next rescan tries again.
    const backgroundError = (reason: string) => (err: unknown) =>
      err instanceof FsyncFailedError ? fatal(err) : log.error({ err, reason }, 'reconcile failed; the next rescan retries');
    const background = (reason: string) => void eng.reconcileNow(reason).catch(backgroundError(reason));

    const hint = (fn: () => unknown) => {
      if (!started) {
        dirty = true;
        return;
      }
      // A hint's work is the engine's to report; whatever still escapes is logged, never left
      // as an unhandled rejection (which would end the process).
      Promise.resolve()
        .then(fn)
        .catch((err: unknown) => (err instanceof FsyncFailedError ? fatal(err) : log.error({ err }, 'handling a watcher event failed')));
    };
    // An error of each of N watched directories (ENOSPC, EMFILE) must not queue N full
    // reconciles: one that has not started yet covers them all.
    const watcherErrorReconcile = coalesce(() => eng.reconcileNow('watcher-error'));
    // While a directory is unwatched (the inotify limit reached, EMFILE), events from it are
    // lost: rescan and try to watch again every 30 s until every directory is watched.
    impaired = repeatUntilDone(
      IMPAIRED_RETRY_MS,
      async () => {
        const still = (await watcher?.rearm()) ?? 0;
        background(still ? 'watcher-impaired' : 'watcher-recovered');
        if (!still) log.info('every directory is watched again');
        return still > 0;
      },
      (err) => log.warn({ err }, 'could not watch the library again; retrying'),
    );
    const w = startWatcher(
      { mapFile: config.mapFile, componentsDir: config.componentsDir, stateDir: config.stateDir, debounceMs: config.debounceMs },
      {
        onMap: () => hint(() => eng.onMapHint()),
        onComponent: (dir, name, present) => hint(() => eng.onComponentHint(dir, name, present)),
        onTypeDir: (dir) => hint(() => eng.onTypeDirHint(dir)),
        onError: (err) => {
          log.warn({ err }, 'watcher error; running a full reconcile');
          hint(watcherErrorReconcile);
          impaired?.start();
        },
        onRoot: (present) => hint(() => eng.onRootHint(present)),
        known: (dir) => eng.index.filesIn(dir),
        onLoss: (what) => log.warn({ what }, 'a change came without its events (lost: the kernel queue overflowed?); rescanning it'),
      },
    );
    watcher = w;
    const report = await eng.start();
    await w.ready;
    started = true;
    onHangup = () => background('sighup');
    if (stopIfRequested()) return handle;
    if (dirty) await eng.reconcileNow('changed-during-start-up');
    if (stopIfRequested()) return handle;

    const ctx: DaemonContext = {
      engine: eng,
      config,
      log,
      startedAt: Date.now(),
      watcherStatus: () => w.status(),
      treeStatus: (): TreeStatus => ({
        components: eng.index.rootUnavailable ?? 'available',
        state: guard.stateStatus(),
        recreated: guard.recreated(),
      }),
      hookStats: () => hookRunner.stats(),
      syncWatcher: async () => {
        await w.syncCookie();
        // The cookie proves events were delivered, but chokidar swallows a second `change` of
        // the map within 50 ms (#1455) until the trailing re-check: read the map now instead.
        await eng.onMapHint();
        await eng.idle();
      },
    };
    server = await startControlServer(ctx, { socketPath: config.socketPath, ...(config.socketGroup ? { socketGroup: config.socketGroup } : {}) });
    if (stopIfRequested()) return handle;

    guard.start({
      periodMs: LOSS_CHECK_MS,
      restoreState: () => eng.restoreState(),
      relisten: async () => server?.relisten(),
      onError: (err) => (err instanceof FsyncFailedError ? fatal(err) : log.warn({ err }, 'checking the state directory failed; trying again')),
    });

    periodic = config.rescanIntervalMs > 0 ? setInterval(() => background('periodic'), config.rescanIntervalMs) : undefined;
    periodic?.unref();

    ready = true;
    onStopSignal = (sig) => {
      log.info({ signal: sig }, 'signal received');
      void stop();
    };

    await notifyReady({ onError: notifyFailed });
    log.info({ socket: config.socketPath, provider: provider.name, mapError: report.mapError, requests: eng.counts().requests }, 'jitd ready');
    return handle;
  } catch (err) {
    await server?.close().catch(() => undefined);
    await watcher?.close().catch(() => undefined);
    await lock.release();
    await guard.close();
    removeSignalHandlers();
    throw err;
  }
}
