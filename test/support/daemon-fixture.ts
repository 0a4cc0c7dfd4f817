/**
 * An in-process daemon for the control-socket and jitctl tests: a temp library (config, a map
 * with a missing component, components/), the real Engine on the real file system with the
 * offline template provider, and the real control server on a real Unix socket. Also a raw
 * line client for protocol tests.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { FsLayer } from '../../src/fsio/fs-layer.js';
import { nodeFs } from '../../src/fsio/node-fs.js';
import { templateProvider } from '../../src/generation/template.js';
import type { Provider } from '../../src/generation/provider.js';
import type { DaemonContext } from '../../src/ipc/context.js';
import type { Limits } from '../../src/ipc/protocol.js';
import { startControlServer, type ControlServer } from '../../src/ipc/server.js';
import { Engine } from '../../src/jobs/engine.js';
import { loadConfig, type Config } from '../../src/library/config.js';

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
  // Short root: Unix socket paths are limited to 107 bytes.
  const root = await mkdtemp(join(tmpdir(), 'jitd-ipc-'));
  const configDir = join(root, 'config');
  await mkdir(configDir, { recursive: true });
  for (const [rel, text] of Object.entries(opts.components ?? FIXTURE_COMPONENTS)) {
    await mkdir(join(root, 'components', rel, '..'), { recursive: true });
    await writeFile(join(root, 'components', rel), text);
  }
  await mkdir(join(root, 'components', 'protocols'), { recursive: true });
  await writeFile(join(configDir, 'goal_map.json'), `${JSON.stringify(opts.map ?? FIXTURE_MAP, null, 2)}\n`);
  await writeFile(
    join(configDir, 'jitd.json'),
    JSON.stringify({ log: { level: 'silent' }, ...(opts.review ? { generation: { review: opts.review } } : {}) }, null, 2),
  );
  const config = await loadConfig(join(configDir, 'jitd.json'), {});
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
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** A raw protocol client: send bytes, await response lines one at a time. */
export interface RawClient {
  socket: Socket;
  send(text: string | Buffer): void;
  /** The next line received, parsed as JSON (rejects after `timeoutMs`, or if the socket closes first). */
  next(timeoutMs?: number): Promise<any>;
  /** Sends one request and answers the next line. */
  request(method: string, params?: unknown, id?: string | number): Promise<any>;
  /** Resolves when the server closes the connection. */
  closed: Promise<void>;
  close(): void;
}

let rawIds = 0;

/** Connects a raw line client to `socketPath`. */
export function rawClient(socketPath: string): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const lines: string[] = [];
    const waiters: Array<(line: string | undefined) => void> = [];
    let buf = '';
    let ended = false;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const w = waiters.shift();
        if (w) w(line);
        else lines.push(line);
      }
    });
    const closed = new Promise<void>((res) =>
      socket.on('close', () => {
        ended = true;
        for (const w of waiters.splice(0)) w(undefined);
        res();
      }),
    );
    socket.on('error', () => {});
    socket.once('connect', () => {
      const client: RawClient = {
        socket,
        send: (text) => void socket.write(text),
        next(timeoutMs = 10_000) {
          const queued = lines.shift();
          if (queued !== undefined) return Promise.resolve(JSON.parse(queued));
          if (ended) return Promise.reject(new Error('connection closed'));
          return new Promise((res, rej) => {
            const timer = setTimeout(() => rej(new Error(`no line within ${timeoutMs} ms`)), timeoutMs);
            waiters.push((line) => {
              clearTimeout(timer);
              if (line === undefined) rej(new Error('connection closed'));
              else res(JSON.parse(line));
            });
          });
        },
        request(method, params, id = `r${++rawIds}`) {
          socket.write(`${JSON.stringify({ id, method, ...(params === undefined ? {} : { params }) })}\n`);
          return client.next();
        },
        closed,
        close: () => socket.destroy(),
      };
      resolve(client);
    });
    socket.once('error', reject);
  });
}
