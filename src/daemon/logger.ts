/**
 * The daemon's logger: pino JSON lines to stdout (pretty when stdout is a terminal). The API
 * key is never logged: fields that could carry it are redacted by path, and as a last line of
 * defence every output line is scrubbed of the key's literal value.
 */
import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';

const REDACT_PATHS = [
  'apiKey',
  '*.apiKey',
  'key',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'err.headers',
  'err.request',
  'err.config',
];

export interface LoggerOptions {
  level: string;
  /** Secrets whose literal value must never appear in a line. */
  secrets?: readonly string[];
  /** Defaults to process.stdout; tests pass a stream to capture lines. */
  destination?: NodeJS.WritableStream;
}

function scrubber(secrets: readonly string[]): ((line: string) => string) | undefined {
  const live = secrets.filter((s) => s.length >= 8);
  if (!live.length) return undefined;
  return (line) => live.reduce((acc, s) => acc.split(s).join('[REDACTED]'), line);
}

export function createLogger(opts: LoggerOptions): Logger {
  const out = opts.destination ?? process.stdout;
  const scrub = scrubber(opts.secrets ?? []);
  const base = {
    level: opts.level,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    ...(scrub ? { hooks: { streamWrite: scrub } } : {}),
  };
  if (!opts.destination && (process.stdout as { isTTY?: boolean }).isTTY) {
    // Loaded only for a terminal: a service (stdout to the journal) does not pay its ~35 ms.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
    return pino(base, pretty({ colorize: !process.env.NO_COLOR, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
  }
  return pino(base, out as pino.DestinationStream);
}
