/**
 * `jitctl prompt [--follow]`: drains the waiting requests, asking for each in turn. An empty
 * line skips, `!reject` rejects, end of input or Ctrl-C stops and leaves the rest untouched.
 * From a pipe it takes one line per request, for scripts. `--follow` keeps going: it waits on
 * `subscribe` for new requests and asks for them too.
 */
import { DaemonRequestError, type ControlClient } from '../../ipc/client.js';
import type { EngineEvent } from '../../jobs/events.js';
import { REQUEST_STATES, type RequestView } from '../../requests/request.js';
import type { Command, CommandContext } from '../command.js';
import { EXIT } from '../errors.js';
import { fetchAllRequests, missingPath } from '../fetch-requests.js';
import { LineInput } from '../line-input.js';
import { answeredLine } from './answer.js';
import { safeJson, showLine, showName } from '../safe-text.js';

const PROMPT = 'description (empty: skip, !reject: reject)> ';

/** The requests still to ask, kept current by events when following. */
class AskQueue {
  private readonly items: RequestView[] = [];
  private readonly seen = new Set<string>();
  private wake: (() => void) | undefined;
  asked = 0;

  add(r: RequestView): void {
    if (r.state !== 'waiting' || this.seen.has(r.id)) return;
    this.seen.add(r.id);
    this.items.push(r);
    this.wake?.();
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

function onEvent(queue: AskQueue) {
  return (e: EngineEvent) => {
    if (e.type === 'request.added' || e.type === 'request.reopened') queue.add(e.request);
    else if (e.type === 'request.withdrawn' || ('request' in e && e.request.state !== 'waiting')) queue.drop(e.request.id);
  };
}

/**
 * The request's state now (someone else may have answered or rejected it, or a person written
 * the file, since the list was fetched); undefined if it is gone. A daemon too old to look up
 * by id answers EINVALID: then the listed state is all there is to go on.
 */
async function currentState(client: ControlClient, r: RequestView): Promise<RequestView | undefined> {
  try {
    const page = await client.call('pending', { ids: [r.id], states: [...REQUEST_STATES] });
    return page.requests[0];
  } catch (err) {
    if (err instanceof DaemonRequestError && err.code === 'EINVALID') return r;
    throw err;
  }
}

/** The one-line note for a request that stopped waiting before (or while) it was asked. */
function goneNote(ctx: CommandContext, r: RequestView, now: RequestView | undefined, unsent?: string): void {
  const state = now ? now.state : 'gone (its map entry changed)';
  const what =
    unsent === undefined ? `is ${state} now; not asked` : `became ${state} meanwhile${unsent ? `; your description was not sent: ${showLine(unsent)}` : ''}`;
  if (ctx.json) ctx.out(`${safeJson({ id: r.id, outcome: 'gone', ...(now ? { state: now.state } : {}) }, 0)}\n`);
  else ctx.out(`${ctx.style.dim(`${showName(r.id)} (${showName(r.goal)} · ${showName(r.type)}) ${what}`)}\n`);
}

/** Asks about one request; answers false once input has ended. */
async function askOne(
  ctx: CommandContext,
  client: ControlClient,
  input: LineInput,
  queue: AskQueue,
  r: RequestView,
): Promise<{ ended: boolean; failed: boolean }> {
  const { style } = ctx;
  // Re-checked before each question: never ask about a request that no longer waits.
  const now = await currentState(client, r);
  if (now?.state !== 'waiting') {
    queue.asked--;
    goneNote(ctx, r, now);
    return { ended: false, failed: false };
  }
  const position = `${queue.asked} of ${queue.asked + queue.remaining}`;
  if (!ctx.json || input.terminal) {
    ctx.out(
      `\n${style.bold(`[${position}]`)} ${style.bold(showName(r.goal))} · ${showName(r.type)}\n  missing: ${missingPath(r)}  ${style.dim(`(id ${showName(r.id)})`)}\n`,
    );
  }
  const line = await input.ask(PROMPT);
  if (line === undefined) return { ended: true, failed: false };
  const text = line.trim();
  const report = (outcome: string, human: string, request?: RequestView) =>
    ctx.out(ctx.json ? `${safeJson({ id: r.id, outcome, ...(request ? { request } : {}) }, 0)}\n` : human);
  if (!text) {
    report('skipped', `  ${style.dim('skipped')}\n`);
    return { ended: false, failed: false };
  }
  try {
    if (text === '!reject') {
      const done = await client.call('reject', { id: r.id });
      report('rejected', `  ${style.yellow('rejected')}\n`, done);
    } else {
      const done = await client.call('answer', { id: r.id, text });
      report('answered', `  ${answeredLine(ctx, done)}`, done);
    }
    return { ended: false, failed: false };
  } catch (err) {
    if (!(err instanceof DaemonRequestError)) throw err;
    if (err.code === 'ESTATE' || err.code === 'ENOREQUEST') {
      // Handled elsewhere while the person was typing: say so, and give their text back.
      const after = await currentState(client, r);
      if (after?.state !== 'waiting') {
        goneNote(ctx, r, after, text === '!reject' ? '' : text);
        return { ended: false, failed: false };
      }
    }
    ctx.warn(`${showName(r.id)}: ${err.message} (${err.code})`);
    return { ended: false, failed: true };
  }
}

export const promptCommand: Command = {
  name: 'prompt',
  usage: 'prompt [--follow]',
  summary: 'ask for each waiting request in turn (one line each; also reads piped input)',
  details: [
    'An empty line skips a request, !reject rejects it; Ctrl-C or end of input stops and leaves the rest untouched.',
    '--follow   keep waiting for new requests and ask for them too',
  ],
  options: { follow: { type: 'boolean' } },
  args: [0, 0],
  async run(ctx, _args, values) {
    const follow = Boolean(values.follow);
    const client = await ctx.connect();
    const queue = new AskQueue();
    // Subscribe before listing, so a request added in between is not missed (the queue de-duplicates).
    if (follow) await client.subscribe(onEvent(queue));
    for (const r of await fetchAllRequests(client, ['waiting'])) queue.add(r);
    if (!queue.remaining && !follow) {
      if (!ctx.json) ctx.out('no requests waiting\n');
      return EXIT.OK;
    }
    const input = new LineInput(ctx.io.stdin, ctx.io.stdout);
    let failures = 0;
    try {
      for (;;) {
        const r = queue.next();
        if (!r) {
          if (!follow) break;
          if (!ctx.json || input.terminal) ctx.out(ctx.style.dim('\nwaiting for new requests (Ctrl-C to stop)...\n'));
          await Promise.race([queue.arrival(), input.closed, client.closed]);
          if (queue.remaining) continue;
          // The daemon went away (stopped, the ssh connection dropped): that is exit 3, not done.
          if (client.lostError) throw client.lostError;
          break;
        }
        const outcome = await askOne(ctx, client, input, queue, r);
        if (outcome.failed) failures++;
        if (outcome.ended) {
          if (!ctx.json) ctx.out(`\nstopped; ${queue.remaining + 1} request(s) left untouched\n`);
          break;
        }
      }
    } finally {
      input.close();
    }
    if (input.interrupted) return EXIT.INTERRUPTED;
    return failures ? EXIT.FAILED : EXIT.OK;
  },
};
