/**
 * Where jitctl finds the daemon: `--socket`, else `--config` (the socket path from that config),
 * else `JITD_SOCKET`, else `JITD_CONFIG`, else `config/jitd.json` under the current directory if
 * it exists. Nothing to go on is a usage error (exit 2) saying what to pass; a path that has no
 * listening socket is the client's DaemonUnreachableError (exit 3).
 *
 * A config is resolved in jitctl's own environment, as jitd would resolve it there: a login
 * shell has no systemd RUNTIME_DIRECTORY/STATE_DIRECTORY, so a service config meant for
 * `jitctl --config` names its `socketPath` explicitly (the README's /etc/jitd/jitd.json does).
 */
import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadConfig } from '../library/config.js';
import { UsageError } from './errors.js';

export interface SocketSource {
  socket?: string | undefined;
  config?: string | undefined;
}

/** The default config, relative to the current directory. */
export const DEFAULT_CONFIG = 'config/jitd.json';

/** Resolves the socket path (absolute) from options, environment and the current directory. */
export async function resolveSocketPath(opts: SocketSource, env: NodeJS.ProcessEnv, cwd: string): Promise<string> {
  if (opts.socket) return resolve(cwd, opts.socket);
  if (opts.config) return (await loadConfig(resolve(cwd, opts.config), env)).socketPath;
  if (env.JITD_SOCKET) return resolve(cwd, env.JITD_SOCKET);
  if (env.JITD_CONFIG) return (await loadConfig(resolve(cwd, env.JITD_CONFIG), env)).socketPath;
  const fallback = resolve(cwd, DEFAULT_CONFIG);
  try {
    await access(fallback);
  } catch {
    throw new UsageError(`cannot find the daemon: pass --socket PATH or --config FILE (or set JITD_SOCKET / JITD_CONFIG); there is no ${DEFAULT_CONFIG} here`);
  }
  return (await loadConfig(fallback, env)).socketPath;
}
