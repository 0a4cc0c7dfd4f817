/**
 * Event hooks (contract §9): turns engine events into runs of the configured commands, a few at a
 * time, and keeps the counts `jitctl status` shows.
 *
 * Invariants: the engine is never blocked or failed by a hook (events are queued and handled
 * off its call stack; every run is bounded by run-hook.ts); one `requestAdded` per request that
 * starts waiting (the engine emits `request.added` only when it creates a request, and
 * `request.reopened` when a request returns; neither fires on a rescan of an unchanged library);
 * the queue is bounded, so a burst of thousands of new requests costs at most
 * {@link MAX_QUEUED} waiting runs (the rest are counted as dropped and logged once per burst).
 *
 * `draftReady` fires on `request.draft`: a generated candidate waits for a person's review.
 */
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import type { EngineEvent } from '../jobs/events.js';
import { HOOK_EVENTS, type HookEvent, type HooksConfig } from '../library/config.js';
import type { RequestView } from '../requests/request.js';
import { runHook, type HookOutcome } from './run-hook.js';

/** Runs waiting beyond those in flight; more are dropped (and counted). */
export const MAX_QUEUED = 256;

/** What `status` shows about hooks. */
export interface HookStats {
  /** The events with a command configured. */
  configured: HookEvent[];
  running: number;
  queued: number;
  /** Runs finished, by outcome. */
  ok: number;
  failed: number;
  timedOut: number;
  /** Runs that could not start (ENOENT, EACCES...); also counted in `failed`. */
  notStarted: number;
  /** Runs killed for flooding their output; also counted in `failed`. */
  flooded: number;
  /** Runs not made because the queue was full. */
  dropped: number;
  lastFailure: { event: HookEvent; at: string; message: string } | null;
}

/** The JSON object a hook reads on standard input. */
export interface HookInput {
  event: HookEvent;
  /** ISO time of the event. */
  at: string;
  request: RequestView;
  /** `installed`: the installed component's path. */
  path?: string;
  /** `draftReady`: the number of the candidate waiting for review. */
  candidate?: number;
  /** `requestFailed`: why generation failed. */
  error?: string;
}

/** The hook event an engine event stands for, if any. */
export function hookInputFor(e: EngineEvent, now = new Date()): HookInput | undefined {
  const at = now.toISOString();
  switch (e.type) {
    case 'request.added':
    case 'request.reopened':
      // Only a request that needs a person: a reopened request filled from its kept answer is not news.
      return e.request.state === 'waiting' ? { event: 'requestAdded', at, request: e.request } : undefined;
    case 'request.failed':
      return { event: 'requestFailed', at, request: e.request, error: e.error };
    case 'request.installed':
      return { event: 'installed', at, request: e.request, path: e.path };
    case 'request.draft':
      return { event: 'draftReady', at, request: e.request, candidate: e.candidate };
    default:
      return undefined;
  }
}

export interface HookRunnerOptions {
  hooks: HooksConfig;
  /** The directory hooks run in (the config file's). */
  cwd: string;
  log: Logger;
  /** The environment hooks inherit (minus the daemon's secrets); default process.env. */
  env?: NodeJS.ProcessEnv;
}

/** A hook's output is arbitrary bytes: the log line gets its first line with control and bidi characters as `\\uXXXX`. */

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const firstLine = (s: string) => (s.trim().split('\n')[0] ?? '').replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

function describeFailure(o: HookOutcome, timeoutMs: number): string {
  if (o.spawnError) return `could not start: ${o.spawnError}`;
  if (o.timedOut) return `killed after the ${timeoutMs} ms timeout`;
  if (o.flooded) return `killed for writing over ${o.stdoutBytes + o.stderrBytes} bytes of output`;
  if (o.signal) return `killed by ${o.signal}`;
  return `exit ${o.code}${o.stderrHead.trim() ? `: ${firstLine(o.stderrHead)}` : ''}`;
}

export class HookRunner {
  private readonly queue: PQueue;
  private closed = false;
  private droppedInBurst = 0;
  private readonly counts = { ok: 0, failed: 0, timedOut: 0, notStarted: 0, flooded: 0, dropped: 0 };
  private lastFailure: HookStats['lastFailure'] = null;

  constructor(private readonly opts: HookRunnerOptions) {
    this.queue = new PQueue({ concurrency: opts.hooks.concurrency });
  }

  /** Feeds one engine event; returns at once (the run, if any, is queued). */
  onEvent(e: EngineEvent): void {
    const input = hookInputFor(e);
    if (!input || this.closed) return;
    const argv = this.opts.hooks[input.event];
    if (!argv) return;
    if (this.queue.size >= MAX_QUEUED) {
      this.counts.dropped++;
      if (this.droppedInBurst++ === 0)
        this.opts.log.warn(
          { hook: input.event, queued: this.queue.size },
          `hook queue full (${MAX_QUEUED} waiting); further hook runs are dropped until it drains`,
        );
      return;
    }
    if (this.queue.size === 0) this.droppedInBurst = 0;
    void this.queue.add(() => this.run(input, argv));
  }

  private async run(input: HookInput, argv: readonly string[]): Promise<void> {
    const { request } = input;
    const timeoutMs = this.opts.hooks.timeoutMs;
    const outcome = await runHook({
      argv,
      input,
      vars: {
        JITD_EVENT: input.event,
        JITD_REQUEST_ID: request.id,
        JITD_GOAL: request.goal,
        JITD_TYPE: request.type,
        JITD_FILENAME: request.filename,
      },
      timeoutMs,
      cwd: this.opts.cwd,
      ...(this.opts.env ? { baseEnv: this.opts.env } : {}),
    });
    const fields = {
      hook: input.event,
      request: request.id,
      argv0: argv[0],
      code: outcome.code,
      signal: outcome.signal,
      durationMs: outcome.durationMs,
      stdoutBytes: outcome.stdoutBytes,
      stderrBytes: outcome.stderrBytes,
    };
    if (outcome.ok) {
      this.counts.ok++;
      this.opts.log.debug(fields, `hook ${input.event} ran`);
      return;
    }
    this.counts.failed++;
    if (outcome.timedOut) this.counts.timedOut++;
    if (outcome.spawnError) this.counts.notStarted++;
    if (outcome.flooded) this.counts.flooded++;
    const message = describeFailure(outcome, timeoutMs);
    this.lastFailure = { event: input.event, at: new Date().toISOString(), message };
    this.opts.log.warn(
      {
        ...fields,
        stderr: outcome.stderrHead
          ? outcome.stderrHead.replace(UNSAFE, (c) => (c === '\n' || c === '\t' ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`))
          : undefined,
      },
      `hook ${input.event} failed: ${message}`,
    );
  }

  stats(): HookStats {
    return {
      configured: HOOK_EVENTS.filter((e) => this.opts.hooks[e] !== undefined),
      running: this.queue.pending,
      queued: this.queue.size,
      ...this.counts,
      lastFailure: this.lastFailure,
    };
  }

  /** Resolves when no hook is running or queued. */
  idle(): Promise<void> {
    return this.queue.onIdle();
  }

  /** Stops taking events, drops the queued runs and waits for the running ones (each bounded by its timeout). */
  async close(): Promise<void> {
    this.closed = true;
    this.queue.clear();
    await this.queue.onIdle();
  }
}
