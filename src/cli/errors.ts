/**
 * jitctl's exit codes (contract §6) and the mapping from an error to one of them.
 */
import { ConfigError } from '../library/config.js';
import { DaemonRequestError, DaemonUnreachableError } from '../ipc/client.js';

export const EXIT = {
  OK: 0,
  /** The daemon refused or failed the request. */
  FAILED: 1,
  USAGE: 2,
  UNREACHABLE: 3,
  /** Ctrl-C, as shells report it. */
  INTERRUPTED: 130,
} as const;

/** A mistake in the command line (or nothing to go on): exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The exit code for an error that reached the entry point. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError || err instanceof ConfigError) return EXIT.USAGE;
  if (err instanceof DaemonUnreachableError) return EXIT.UNREACHABLE;
  if (err instanceof DaemonRequestError) return EXIT.FAILED;
  return EXIT.FAILED;
}

/** The one line printed for an error (after `jitctl: `). */
export function describeError(err: unknown): string {
  if (err instanceof DaemonRequestError) return `${err.message} (${err.code})`;
  if (err instanceof ConfigError) return err.message.replace(/\n\s*/g, '; ');
  if (err instanceof Error) return err.message;
  return String(err);
}

/** The value of a numeric option such as `--candidate N` (1 to 999999999), undefined when absent; a UsageError otherwise. */
export function countOption(values: Record<string, unknown>, flag: string): number | undefined {
  const raw = values[flag];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^[1-9][0-9]{0,8}$/.test(raw)) throw new UsageError(`--${flag} takes a number from 1, not ${JSON.stringify(raw)}`);
  return Number(raw);
}
