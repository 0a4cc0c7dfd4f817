/**
 * What `jitctl prompt`'s two questions share (prompt.ts asks for a waiting request's
 * description, prompt-draft.ts offers a draft): the queue of requests still to ask, kept current
 * by events when following, the re-check of a request's state, and how an outcome is reported.
 *
 * Invariant: a request is asked about only in a state that can be asked ({@link askable}): it is
 * re-checked just before its question, and one the person already saw in that state (the same
 * draft candidate included) is not queued again.
 */
import { DaemonRequestError, type ControlClient } from '../../ipc/client.js';
import type { EngineEvent } from '../../jobs/events.js';
import { REQUEST_STATES, type RequestView } from '../../requests/request.js';
import type { CommandContext } from '../command.js';
import type { LineInput } from '../line-input.js';
import { safeJson, showLine, showName } from '../safe-text.js';

/** Waiting for a description, or a draft held for review (not while it is being regenerated). */
export function askable(r: RequestView): boolean {
  return r.state === 'waiting' || (r.state === 'draft' && !r.regenerating);
}

/** A waiting request is asked once; a draft once per candidate. */
const seenKey = (r: RequestView) => (r.state === 'draft' ? `${r.id}#${r.candidate}` : r.id);

/** The requests still to ask, oldest first as `pending` lists them, then in order of arrival. */
export class AskQueue {
  private readonly items: RequestView[] = [];
  private readonly seen = new Set<string>();
  private wake: (() => void) | undefined;
  /** The draft being offered: its own new candidates (regenerate, edit) are offered there, not queued. */
  offering: string | undefined;
  asked = 0;

  add(r: RequestView): void {
    if (!askable(r) || r.id === this.offering || this.seen.has(seenKey(r))) return;
    this.seen.add(seenKey(r));
    const i = this.items.findIndex((q) => q.id === r.id);
    if (i >= 0) this.items[i] = r;
    else this.items.push(r);
    this.wake?.();
  }
  /** Marks `r` as shown in its present state (a draft candidate): a late event does not queue it again. */
  shown(r: RequestView): void {
    this.seen.add(seenKey(r));
  }
  /** Someone else handled it (another jitctl, a person writing the file): do not ask. */
  drop(id: string): void {
    const i = this.items.findIndex((r) => r.id === id);
    if (i >= 0) this.items.splice(i, 1);
  }
  next(): RequestView | undefined {
    const r = this.items.shift();
    if (r) this.asked++;
    return r;
  }
  get remaining(): number {
    return this.items.length;
  }
  /** Resolves when a request is added. */
  arrival(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }
}

/** The `subscribe` listener that keeps `queue` current: new requests and drafts join, handled ones leave. */
export function onEvent(queue: AskQueue) {
  return (e: EngineEvent) => {
    if (e.type === 'request.added' || e.type === 'request.reopened' || e.type === 'request.draft') queue.add(e.request);
    else if (e.type === 'request.withdrawn' || ('request' in e && !askable(e.request))) queue.drop(e.request.id);
  };
}

/** One prompt run: where it writes, what it reads, whom it asks. */
export interface PromptSession {
  ctx: CommandContext;
  client: ControlClient;
  input: LineInput;
  queue: AskQueue;
}

/** How one question ended: `ended` once input has ended (EOF, Ctrl-C), `failed` when the daemon refused. */
export interface AskOutcome {
  ended: boolean;
  failed: boolean;
}

export const CONTINUE: AskOutcome = { ended: false, failed: false };
export const ENDED: AskOutcome = { ended: true, failed: false };
export const FAILED: AskOutcome = { ended: false, failed: true };

/**
 * The request's state now (someone else may have answered, approved or rejected it, or a person
 * written the file, since the list was fetched); undefined if it is gone. A daemon too old to
 * look up by id answers EINVALID: then the listed state is all there is to go on.
 */
export async function currentState(client: ControlClient, r: RequestView): Promise<RequestView | undefined> {
  try {
    const page = await client.call('pending', { ids: [r.id], states: [...REQUEST_STATES] });
    return page.requests[0];
  } catch (err) {
    if (err instanceof DaemonRequestError && err.code === 'EINVALID') return r;
    throw err;
  }
}

/** The question's heading (`[2 of 5] GOAL · type`) and the lines under it; on a pipe with --json, nothing. */
export function heading(s: PromptSession, r: RequestView, lines: string): void {
  const { ctx, queue } = s;
  if (ctx.json && !s.input.terminal) return;
  const position = `${queue.asked} of ${queue.asked + queue.remaining}`;
  ctx.out(`\n${ctx.style.bold(`[${position}]`)} ${ctx.style.bold(showName(r.goal))} · ${showName(r.type)}\n${lines}`);
}

/** Reports one outcome: a JSON line with --json, else the human line. */
export function report(s: PromptSession, id: string, outcome: string, human: string, extra: Record<string, unknown> = {}): void {
  s.ctx.out(s.ctx.json ? `${safeJson({ id, outcome, ...extra }, 0)}\n` : human);
}

/** `answered`, or for a draft `draft (candidate 2, regenerating)`. */
function stateLabel(now: RequestView | undefined): string {
  if (!now) return 'gone (its map entry changed)';
  if (now.state !== 'draft') return now.state;
  return `draft (candidate ${now.candidate}${now.regenerating ? ', regenerating' : ''})`;
}

/**
 * The one-line note for a request that stopped being askable as it was before (or while) it was
 * asked; `unsent` is the person's text that was not sent (shown back to them), '' for a choice.
 */
export function goneNote(s: PromptSession, r: RequestView, now: RequestView | undefined, unsent?: string): void {
  const what = r.state === 'waiting' ? 'description' : 'feedback';
  const note =
    unsent === undefined
      ? `is ${stateLabel(now)} now; not asked`
      : `became ${stateLabel(now)} meanwhile${unsent ? `; your ${what} was not sent: ${showLine(unsent)}` : ''}`;
  report(s, r.id, 'gone', `${s.ctx.style.dim(`${showName(r.id)} (${showName(r.goal)} · ${showName(r.type)}) ${note}`)}\n`, now ? { state: now.state } : {});
}

/**
 * After the daemon refused an action (ESTATE, ENOREQUEST): if the request changed meanwhile,
 * says so with the person's text given back and answers true; false if it is still as asked.
 */
export async function changedMeanwhile(s: PromptSession, r: RequestView, err: DaemonRequestError, unsent: string): Promise<boolean> {
  if (err.code !== 'ESTATE' && err.code !== 'ENOREQUEST') return false;
  const after = await currentState(s.client, r);
  if (after?.state === r.state && (r.state !== 'draft' || (after.candidate === r.candidate && !after.regenerating))) return false;
  goneNote(s, r, after, unsent);
  return true;
}
