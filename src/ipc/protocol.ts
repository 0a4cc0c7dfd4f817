/**
 * The control-socket wire protocol (contract §7), shared by the server and the client: the request
 * envelope, the response shapes, the stable error codes and the limits. Newline-delimited JSON:
 * one request object per line, one response per line; a `subscribe` request is answered once
 * and then followed by `{"id", "event"}` lines until the client disconnects.
 */
import { z } from 'zod';
import { formatIssues } from '../library/config.js';

/** A request id chosen by the client, echoed in the response. */
export const RequestIdSchema = z.union([z.string().max(200), z.number().finite()]);
export type RequestId = z.infer<typeof RequestIdSchema>;

/** The envelope of every request line. Unknown top-level keys are ignored. */
export const EnvelopeSchema = z.object({
  id: RequestIdSchema,
  method: z.string().min(1).max(100),
  params: z.record(z.string(), z.unknown()).optional(),
});

/**
 * Stable error codes. Besides these, a handler may answer with the code of a `JitdError`
 * (`ENOREQUEST`, `EAMBIGUOUS`, `ESTATE`, `EEMPTY`, `ETOOLONG`, `ENOGOAL`, ...).
 */
export const ERROR_CODES = {
  /** The line is not JSON. */
  EPARSE: 'EPARSE',
  /** The envelope or the params do not match the method's schema; the message names the field. */
  EINVALID: 'EINVALID',
  /** No such method. */
  EMETHOD: 'EMETHOD',
  /** The line is over {@link LIMITS.maxLineBytes}; the rest of it is discarded. */
  ETOOBIG: 'ETOOBIG',
  /** Too many clients are connected; the connection is closed after this response. */
  EBUSY: 'EBUSY',
  /** The daemon is shutting down. */
  ESHUTDOWN: 'ESHUTDOWN',
  /** A bug or an unexpected failure inside the daemon. */
  EINTERNAL: 'EINTERNAL',
} as const;

export interface ErrorBody {
  code: string;
  message: string;
}

export type Response = { id: RequestId | null; result: unknown } | { id: RequestId | null; error: ErrorBody };
export interface EventLine {
  id: RequestId;
  event: unknown;
}

/** Server-side limits; the server takes overrides (tests use short timeouts). */
export interface Limits {
  /** Longest request line in bytes, newline excluded. */
  maxLineBytes: number;
  /** A client holding a partial line longer than this is disconnected. */
  partialLineMs: number;
  /** A client without a subscription that sends nothing for this long is disconnected. */
  idleMs: number;
  /** A client whose unread output exceeds this many bytes is destroyed. */
  maxPendingWriteBytes: number;
  /** Connected clients at most; one more is answered `EBUSY` and closed. */
  maxClients: number;
  /** Requests read ahead of the one being handled, per client, before reading pauses. */
  maxQueuedRequests: number;
  /**
   * Bytes of requests read and not yet answered, per client, before reading pauses (it resumes
   * at half). At least one maximal line; the line that crosses it is kept.
   */
  maxQueuedBytes: number;
  /**
   * The same across all clients: above it the server reads from nobody until the queues drain
   * to half, and drops clients whose queued requests wait on replies they do not read.
   */
  maxTotalQueuedBytes: number;
}

export const LIMITS: Readonly<Limits> = Object.freeze({
  maxLineBytes: 1024 * 1024,
  partialLineMs: 30_000,
  idleMs: 10 * 60_000,
  maxPendingWriteBytes: 4 * 1024 * 1024,
  maxClients: 4096,
  maxQueuedRequests: 32,
  maxQueuedBytes: 2 * 1024 * 1024,
  maxTotalQueuedBytes: 64 * 1024 * 1024,
});

/** One line of `at: message` per zod issue, with `prefix` (e.g. `params`) before each path. */
export function describeIssues(issues: readonly z.core.$ZodIssue[], prefix: string): string {
  return formatIssues(issues.map((i) => ({ ...i, path: prefix ? [prefix, ...i.path] : i.path })) as z.core.$ZodIssue[]).join('; ');
}

/** Serialises one response or event line (newline included). */
export function encodeLine(value: Response | EventLine): string {
  return `${JSON.stringify(value)}\n`;
}
