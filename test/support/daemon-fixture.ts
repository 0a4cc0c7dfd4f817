/**
 * An in-process daemon for the control-socket and jitctl tests: a temp library (config, a map
 * with a missing component, components/), the real Engine on the real file system with the
 * offline template provider, and the real control server on a real Unix socket.
 */
import { pino } from 'pino';
import type { FsLayer } from '../../src/fsio/fs-layer.js';
import { nodeFs } from '../../src/fsio/node-fs.js';
import { templateProvider } from '../../src/generation/template.js';
import type { Provider } from '../../src/generation/provider.js';
import type { DaemonContext } from '../../src/ipc/context.js';
import type { PeerReader } from '../../src/ipc/peer-cred.js';
import type { Limits } from '../../src/ipc/protocol.js';
import { startControlServer, type ControlServer } from '../../src/ipc/server.js';
import { Engine } from '../../src/jobs/engine.js';
import { loadConfig, type Config } from '../../src/library/config.js';
import { makeLibrary } from './library-fixture.js';

export const MISSING_GOAL = 'DIAGNOSE_ROOT_CAUSE';
export const MISSING_FILE = 'root_cause_analysis_drilldown.txt';

export const FIXTURE_MAP: Record<string, Record<string, string>> = {
  [MISSING_GOAL]: { protocol: MISSING_FILE, persona: 'sre.txt' },
  REVIEW: { protocol: 'review.txt' },
};

export const FIXTURE_COMPONENTS: Record<string, string> = {
  'personas/sre.txt': 'You are an SRE.\n',
  'protocols/review.txt': 'Review it.\n',
};

export interface FixtureOptions {
  map?: Record<string, Record<string, string>>;
  components?: Record<string, string>;
  limits?: Partial<Limits>;
  provider?: Provider;
  /** Changes to the context handed to the server (e.g. a throwing watcherStatus). */
  context?: Partial<DaemonContext>;
  socketGroup?: string;
  /** Wraps the real file system (fault injection). */
  wrapFs?: (fs: FsLayer, config: Config) => FsLayer;
  /** `generation.review` in the library's config. */
  review?: 'auto' | 'required';
  /** Who a client is (default: the kernel's peer credentials through the native addon). */
  readPeer?: PeerReader;
}

export interface DaemonFixture {
  root: string;
  config: Config;
  engine: Engine;
  ctx: DaemonContext;
  server: ControlServer;
  socketPath: string;
  close(): Promise<void>;
}

/** Creates a temp library and starts an engine and a control server on it. */
export async function startDaemonFixture(opts: FixtureOptions = {}): Promise<DaemonFixture> {
  const lib = await makeLibrary({
    prefix: 'jitd-ipc-',
    map: opts.map ?? FIXTURE_MAP,
    components: opts.components ?? FIXTURE_COMPONENTS,
    config: { log: { level: 'silent' }, ...(opts.review ? { generation: { review: opts.review } } : {}) },
  });
  const root = lib.root;
  const config = await loadConfig(lib.configFile, {});
  const log = pino({ level: 'silent' });
  const engine = new Engine({ fs: opts.wrapFs ? opts.wrapFs(nodeFs, config) : nodeFs, config, provider: opts.provider ?? templateProvider, log });
  await engine.start();
  const ctx: DaemonContext = {
    engine,
    config,
    log,
    startedAt: Date.now(),
    watcherStatus: () => ({ backend: 'none', ready: true }),
    syncWatcher: () => engine.idle(),
    ...opts.context,
  };
  const server = await startControlServer(ctx, {
    socketPath: config.socketPath,
    ...(opts.socketGroup ? { socketGroup: opts.socketGroup } : {}),
    ...(opts.limits ? { limits: opts.limits } : {}),
    ...(opts.readPeer ? { readPeer: opts.readPeer } : {}),
    closeGraceMs: 500,
  });
  return {
    root,
    config,
    engine,
    ctx,
    server,
    socketPath: config.socketPath,
    async close() {
      await server.close();
      await engine.stop();
      await lib.cleanup();
    },
  };
}
