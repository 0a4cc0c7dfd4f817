/**
 * `jitd`: the long-running service. Start-up order matters and is the order of this file:
 *
 *   config → logger → lock (one daemon per library) → engine start (start-up reconcile) and
 *   watcher → socket → READY=1.
 *
 * Readiness is signalled only when reconcile, lock and socket are all up. SIGTERM/SIGINT stop
 * intake, let the install in hand finish (model calls in flight are aborted; their answers are
 * kept), close the socket, release the lock and exit 0. SIGHUP runs a full reconcile. A failed
 * fsync anywhere is fatal (exit 1): the next start reconciles from what is really on disk.
 */
import type { Logger } from 'pino';
import { ensureDurableDir } from '../fsio/durable-dir.js';
import { faultFsFromEnv, libraryClassifier } from '../fsio/fault-fs.js';
import { nodeFs } from '../fsio/node-fs.js';
import { FsyncFailedError } from '../fsio/errors.js';
import { createProvider } from '../generation/create-provider.js';
import { readApiKey } from '../generation/credentials.js';
import type { DaemonContext } from '../ipc/context.js';
import { startControlServer } from '../ipc/server.js';
import { Engine } from '../jobs/engine.js';
import { loadConfig, type Config } from '../library/config.js';
import { acquireLibraryLock } from '../lock/library-lock.js';
import { VERSION } from '../version.js';
import { startWatcher } from '../watch/watcher.js';
import { createLogger } from './logger.js';
import { notifyReady, notifyStopping } from './sd-notify.js';

export interface DaemonHandle {
  /** Resolves with the exit code once the daemon has stopped. */
  exited: Promise<number>;
  stop(): Promise<void>;
}

/** Starts jitd for `configFile`; throws (ConfigError, LockHeldError...) if it cannot start. */
export async function runDaemon(configFile: string, env: NodeJS.ProcessEnv = process.env): Promise<DaemonHandle> {
  const config: Config = await loadConfig(configFile, env);
  const apiKey = config.provider.kind === 'openai' ? readApiKey(env) : undefined;
  const log: Logger = createLogger({ level: config.log.level, secrets: apiKey ? [apiKey] : [] });
  const fs = faultFsFromEnv(nodeFs, env, { classify: libraryClassifier(config) });

  await ensureDurableDir(fs, config.stateDir, 0o700);
  const lock = await acquireLibraryLock(config.mapFile, config.stateDir);
  log.info({ version: VERSION, config: config.configFile, map: config.mapFile, components: config.componentsDir, state: config.stateDir, lock: lock.name }, 'jitd starting');

  let exit: (code: number) => void = () => undefined;
  const exited = new Promise<number>((res) => (exit = res));
  const notifyFailed = (err: unknown) => log.warn({ err }, 'could not notify systemd');
  const fatal = (err: unknown) => {
    log.fatal({ err }, err instanceof FsyncFailedError ? 'fsync failed; stopping (restart reconciles from disk)' : 'fatal error');
    exit(1);
  };

  try {
    const provider = createProvider(config.provider, env);
    const engine = new Engine({ fs, config, provider, log, onFatal: fatal });
    engine.on('event', (e) => log.debug({ event: e }, e.type));

    // Hints that arrive before the start-up reconcile has finished mark the library dirty; it is
    // reconciled once more when both are ready, so nothing changed during start-up is missed.
    let started = false;
    let dirty = false;
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
    const watcher = startWatcher(
      { mapFile: config.mapFile, componentsDir: config.componentsDir, stateDir: config.stateDir, debounceMs: config.debounceMs },
      {
        onMap: () => hint(() => engine.onMapHint()),
        onComponent: (dir, name, present) => hint(() => engine.onComponentHint(dir, name, present)),
        onTypeDir: (dir) => hint(() => engine.onTypeDirHint(dir)),
        onError: (err) => {
          log.warn({ err }, 'watcher error; running a full reconcile');
          hint(() => engine.reconcileNow('watcher-error'));
        },
      },
    );
    const report = await engine.start();
    await watcher.ready;
    started = true;
    if (dirty) await engine.reconcileNow('changed-during-start-up');

    const ctx: DaemonContext = {
      engine,
      config,
      log,
      startedAt: Date.now(),
      watcherStatus: () => watcher.status(),
      syncWatcher: async () => {
        await watcher.syncCookie();
        // The cookie proves events were delivered, but chokidar swallows a second `change` of
        // the map within 50 ms (#1455) until the trailing re-check: read the map now instead.
        await engine.onMapHint();
        await engine.idle();
      },
    };
    const server = await startControlServer(ctx, { socketPath: config.socketPath, ...(config.socketGroup ? { socketGroup: config.socketGroup } : {}) });

    const periodic =
      config.rescanIntervalMs > 0
        ? setInterval(() => void engine.reconcileNow('periodic').catch(fatal), config.rescanIntervalMs)
        : undefined;
    periodic?.unref();

    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        log.info('stopping');
        await notifyStopping({ onError: notifyFailed });
        if (periodic) clearInterval(periodic);
        await server.close();
        await watcher.close();
        await engine.stop();
        await lock.release();
        log.info('stopped');
        exit(0);
      })().catch((err) => {
        fatal(err);
      }));

    const onSignal = (sig: NodeJS.Signals) => {
      log.info({ signal: sig }, 'signal received');
      void stop();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    process.on('SIGHUP', () => void engine.reconcileNow('sighup').catch(fatal));

    await notifyReady({ onError: notifyFailed });
    log.info(
      { socket: config.socketPath, provider: provider.name, mapError: report.mapError, requests: engine.counts().requests },
      'jitd ready',
    );
    return { exited, stop };
  } catch (err) {
    await lock.release();
    throw err;
  }
}
