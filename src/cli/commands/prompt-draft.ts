/**
 * `jitctl prompt`'s question for a draft held for review (docs/review.md): it shows the goal,
 * type, candidate number and the draft's text, then asks one choice: `a` approve, `r`
 * regenerate (one more line: the feedback), `e` edit in $VISUAL/$EDITOR (the terminal handed
 * over), `x` or `!reject` reject, an empty line skips. After a regeneration or an edit the new
 * draft is offered again, until the person approves, rejects or skips it.
 *
 * Invariants: the text is shown escaped (showText), so terminal escapes in model output never
 * reach the terminal raw; what `a` approves is the candidate that was shown (approve names it),
 * never a newer one someone else made meanwhile.
 */
import { DaemonRequestError } from '../../ipc/client.js';
import type { RequestView } from '../../requests/request.js';
import { awaitRegeneration, EditAborted, editInEditor } from '../edit-text.js';
import { showLine, showName, showText } from '../safe-text.js';
import { changedMeanwhile, CONTINUE, currentState, ENDED, FAILED, goneNote, heading, report, type AskOutcome, type PromptSession } from './prompt-session.js';

const CHOICES = 'a approve, r regenerate, e edit, x reject, empty: skip> ';
const FEEDBACK = 'feedback for the model (one line, empty: none)> ';

type Choice = 'approve' | 'regenerate' | 'edit' | 'reject' | 'skip';

const CHOICE_OF: Record<string, Choice> = { a: 'approve', r: 'regenerate', e: 'edit', x: 'reject', '!reject': 'reject', '': 'skip' };

/** Asks until the answer is one of the choices; undefined at end of input. */
async function askChoice(s: PromptSession): Promise<Choice | undefined> {
  for (;;) {
    const line = await s.input.ask(CHOICES);
    if (line === undefined) return undefined;
    const choice = CHOICE_OF[line.trim().toLowerCase()];
    if (choice) return choice;
    s.ctx.warn(`answer a, r, e, x (or !reject), or an empty line to skip (not: ${showLine(line.trim())})`);
  }
}

/** Shows the draft: heading, candidate, what it would install, and the text (escaped). */
async function showDraft(s: PromptSession, r: RequestView): Promise<void> {
  const { ctx } = s;
  if (ctx.json && !s.input.terminal) return;
  const shown = await s.client.call('show', { id: r.id });
  const target = `${showName(r.type)}s/${showName(r.generatedName)}`;
  const what = r.replaces ? `would replace the installed ${target}` : `would install ${target}`;
  let body: string;
  if (shown.text?.source === 'candidate') {
    const text = showText(shown.text.content);
    body = `${text}${text.endsWith('\n') ? '' : '\n'}`;
  } else body = `${ctx.style.yellow('no text')}: ${showLine(shown.textError ?? 'the draft has no candidate text')}\n`;
  const description = r.description !== undefined ? `  description: ${showLine(r.description)}\n` : '';
  heading(
    s,
    r,
    `  draft, candidate ${r.candidate}: ${what}  ${ctx.style.dim(`(id ${showName(r.id)})`)}\n${description}` +
      `${ctx.style.bold(`── candidate ${r.candidate} ──`)}\n${body}${ctx.style.bold('──')}\n`,
  );
}

/** Whether a regeneration of `before` ended in a new draft. */
const isNewDraft = (after: RequestView | undefined, before: RequestView): boolean => after?.state === 'draft' && after.candidate !== before.candidate;

/**
 * `r`: asks for feedback (kept in `typed`, to give it back if the request changed meanwhile),
 * regenerates, and waits for the new draft; answers the request's view after, or 'ended'.
 */
async function regenerate(s: PromptSession, r: RequestView, typed: { text: string }): Promise<RequestView | undefined | 'ended'> {
  const line = await s.input.ask(FEEDBACK);
  if (line === undefined) return 'ended';
  const feedback = line.trim();
  typed.text = feedback;
  await s.client.call('regenerate', { id: r.id, ...(feedback ? { feedback } : {}) });
  if (!s.ctx.json) s.ctx.out(`  ${s.ctx.style.dim('regenerating...')}\n`);
  // Ctrl-C stops the wait at once (the daemon finishes the regeneration; its draft waits). End of a
  // pipe does not: the answers after the feedback were read ahead and are for the new draft.
  const interrupted = s.input.closed.then(() => (s.input.interrupted ? ('ended' as const) : new Promise<never>(() => {})));
  const after = await Promise.race([awaitRegeneration(s.client, r.id), interrupted]);
  if (after === 'ended') return 'ended';
  if (after && isNewDraft(after, r)) {
    report(s, r.id, 'regenerated', `  ${s.ctx.style.green('regenerated')}: candidate ${after.candidate} is the draft\n`, { request: after });
  } else {
    const why = showLine(after?.lastError ?? 'the regeneration did not finish');
    report(s, r.id, 'not-regenerated', `  ${s.ctx.style.red('not regenerated')}: ${why}\n`, after ? { request: after } : {});
  }
  return after;
}

/** `e`: the editor on the draft, the terminal handed over; the saved text becomes the draft. */
async function edit(s: PromptSession, r: RequestView): Promise<void> {
  try {
    const saved = await editInEditor(s.client, r.id, s.ctx.io.env, (fn) => s.input.handOver(fn));
    report(s, r.id, 'edited', `  ${s.ctx.style.green('edited')}: candidate ${saved.candidate} is the draft\n`, saved);
  } catch (err) {
    if (!(err instanceof EditAborted)) throw err;
    s.ctx.warn(err.message);
  }
}

/** The choices that end the offer: approve (the candidate shown), reject, skip. */
async function decide(s: PromptSession, draft: RequestView, choice: 'approve' | 'reject' | 'skip'): Promise<void> {
  const { ctx, client } = s;
  if (choice === 'skip') {
    report(s, draft.id, 'skipped', `  ${ctx.style.dim('skipped')}\n`);
  } else if (choice === 'approve') {
    const done = await client.call('approve', { id: draft.id, ...(draft.candidate ? { candidate: draft.candidate } : {}) });
    const target = `${showName(done.type)}s/${showName(done.generatedName)}`;
    report(s, draft.id, 'approved', `  ${ctx.style.green('approved')} candidate ${done.approved}: installing ${target}\n`, { request: done });
  } else {
    const done = await client.call('reject', { id: draft.id });
    const kept = done.state === 'done' ? '; the installed text stays' : '';
    report(s, draft.id, 'rejected', `  ${ctx.style.yellow('rejected')}${kept}\n`, { request: done });
  }
}

/** Offers draft `r` (re-checked by the caller) until the person approves, rejects or skips it, or input ends. */
export async function offerDraft(s: PromptSession, r: RequestView): Promise<AskOutcome> {
  s.queue.offering = r.id;
  try {
    return await offerUntilDecided(s, r);
  } finally {
    s.queue.offering = undefined;
  }
}

/** The loop of {@link offerDraft}; a regeneration that failed on the way makes the outcome failed (exit 1). */
async function offerUntilDecided(s: PromptSession, r: RequestView): Promise<AskOutcome> {
  let now: RequestView | undefined = r;
  let regenerationFailed = false;
  const outcome = (o: AskOutcome): AskOutcome => (regenerationFailed ? { ...o, failed: true } : o);
  for (;;) {
    if (now?.state !== 'draft' || now.regenerating) {
      // A regeneration or an edit ended elsewhere than in a draft (someone approved it meanwhile).
      goneNote(s, r, now);
      return outcome(CONTINUE);
    }
    const draft = now;
    s.queue.shown(draft);
    await showDraft(s, draft);
    const choice = await askChoice(s);
    if (choice === undefined) return outcome(ENDED);
    const typed = { text: '' };
    try {
      if (choice === 'regenerate') {
        const after = await regenerate(s, draft, typed);
        if (after === 'ended') return outcome(ENDED);
        if (!isNewDraft(after, draft)) regenerationFailed = true;
        now = after;
      } else if (choice === 'edit') {
        await edit(s, draft);
        now = await currentState(s.client, draft);
      } else {
        await decide(s, draft, choice);
        return outcome(CONTINUE);
      }
    } catch (err) {
      if (!(err instanceof DaemonRequestError)) throw err;
      if (await changedMeanwhile(s, draft, err, typed.text)) return outcome(CONTINUE);
      s.ctx.warn(`${showName(draft.id)}: ${err.message} (${err.code})`);
      return FAILED;
    }
  }
}
