/**
 * `jitctl prompt [--follow]`: goes through the requests that need a person, oldest first as
 * `pending` lists them: for a waiting request it asks for a one-line description (empty skips,
 * `!reject` rejects); a draft held for review it offers (prompt-draft.ts: approve, regenerate
 * with feedback, edit, reject, skip). Each request is re-checked just before its question. End of
 * input or Ctrl-C stops and leaves the rest untouched. From a pipe it takes one line per answer,
 * for scripts. `--follow` keeps going: it waits on `subscribe` for new requests and new drafts.
 */
import { DaemonRequestError } from '../../ipc/client.js';
import type { RequestView } from '../../requests/request.js';
import type { Command } from '../command.js';
import { EXIT } from '../errors.js';
import { fetchAllRequests, missingPath } from '../fetch-requests.js';
import { LineInput } from '../line-input.js';
import { showName } from '../safe-text.js';
import { answeredLine } from './answer.js';
import { offerDraft } from './prompt-draft.js';
import {
  askable,
  AskQueue,
  changedMeanwhile,
  CONTINUE,
  currentState,
  ENDED,
  FAILED,
  goneNote,
  heading,
  onEvent,
  report,
  type AskOutcome,
  type PromptSession,
} from './prompt-session.js';

const PROMPT = 'description (empty: skip, !reject: reject)> ';

/** Asks for a waiting request's description (or `!reject`, or skip). */
async function askWaiting(s: PromptSession, r: RequestView): Promise<AskOutcome> {
  const { ctx, client, input } = s;
  heading(s, r, `  missing: ${missingPath(r)}  ${ctx.style.dim(`(id ${showName(r.id)})`)}\n`);
  const line = await input.ask(PROMPT);
  if (line === undefined) return ENDED;
  const text = line.trim();
  if (!text) {
    report(s, r.id, 'skipped', `  ${ctx.style.dim('skipped')}\n`);
    return CONTINUE;
  }
  try {
    if (text === '!reject') {
      const done = await client.call('reject', { id: r.id });
      report(s, r.id, 'rejected', `  ${ctx.style.yellow('rejected')}\n`, { request: done });
    } else {
      const done = await client.call('answer', { id: r.id, text });
      report(s, r.id, 'answered', `  ${answeredLine(ctx, done)}`, { request: done });
    }
    return CONTINUE;
  } catch (err) {
    if (!(err instanceof DaemonRequestError)) throw err;
    // Handled elsewhere while the person was typing: say so, and give their text back.
    if (await changedMeanwhile(s, r, err, text === '!reject' ? '' : text)) return CONTINUE;
    ctx.warn(`${showName(r.id)}: ${err.message} (${err.code})`);
    return FAILED;
  }
}

/** Re-checks the request, then asks the question its state calls for (never one that is not askable). */
async function askOne(s: PromptSession, r: RequestView): Promise<AskOutcome> {
  const now = await currentState(s.client, r);
  if (now?.state === 'waiting') return askWaiting(s, now);
  if (now && askable(now)) return offerDraft(s, now);
  s.queue.asked--;
  goneNote(s, r, now);
  return CONTINUE;
}

export const promptCommand: Command = {
  name: 'prompt',
  usage: 'prompt [--follow]',
  summary: 'ask for each waiting request and offer each draft in turn (one line each; also reads piped input)',
  details: [
    'Oldest first, waiting requests and drafts interleaved; each is re-checked just before it is asked.',
    'A waiting request: type its description; an empty line skips it, !reject rejects it.',
    'A draft (its text is shown): a approve, r regenerate (then one line of feedback), e edit in $VISUAL/$EDITOR,',
    '  x or !reject reject, an empty line skips. After r or e the new draft is offered again.',
    'Ctrl-C or end of input stops and leaves the rest untouched. --json: one JSON line per outcome.',
    '--follow   keep waiting for new requests and new drafts and ask for them too',
  ],
  options: { follow: { type: 'boolean' } },
  args: [0, 0],
  async run(ctx, _args, values) {
    const follow = Boolean(values.follow);
    const client = await ctx.connect();
    const queue = new AskQueue();
    // Subscribe before listing, so a request added in between is not missed (the queue de-duplicates).
    if (follow) await client.subscribe(onEvent(queue));
    for (const r of await fetchAllRequests(client, ['waiting', 'draft'])) queue.add(r);
    if (!queue.remaining && !follow) {
      if (!ctx.json) ctx.out('no requests waiting and no drafts to review\n');
      return EXIT.OK;
    }
    const input = new LineInput(ctx.io.stdin, ctx.io.stdout);
    const session: PromptSession = { ctx, client, input, queue };
    let failures = 0;
    try {
      for (;;) {
        const r = queue.next();
        if (!r) {
          if (!follow) break;
          if (!ctx.json || input.terminal) ctx.out(ctx.style.dim('\nwaiting for new requests and drafts (Ctrl-C to stop)...\n'));
          await Promise.race([queue.arrival(), input.closed, client.closed]);
          if (queue.remaining) continue;
          // The daemon went away (stopped, the ssh connection dropped): that is exit 3, not done.
          if (client.lostError) throw client.lostError;
          break;
        }
        const outcome = await askOne(session, r);
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
