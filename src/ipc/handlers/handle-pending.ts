/**
 * Handler of `pending`: one page of requests in the asked states, oldest first. The cursor is
 * the sort key of the page's last request, so pages stay consistent while requests come and go.
 * A page ends at `limit` requests or once its JSON passes ~1 MiB, whichever comes first.
 */
import { publicView, type Request, type RequestState } from '../../requests/request.js';
import { DEFAULT_PAGE, PendingParams, type PendingResult } from '../messages/pending.js';
import { defineHandler } from './handler.js';
import { compareKeys, cursorOf, PAGE_BYTES, parseCursor } from './page-cursor.js';

const keyOf = (r: Request): [string, string] => [r.createdAt, r.id];

export const handlePending = defineHandler({
  method: 'pending',
  params: PendingParams,
  async handle(ctx, params) {
    const states = new Set<RequestState>(params.states ?? ['waiting']);
    const limit = params.limit ?? DEFAULT_PAGE;
    const after = params.after === undefined ? undefined : parseCursor(params.after, 'pending');
    const { store } = ctx.engine;
    const candidates = params.ids ? [...new Set(params.ids)].flatMap((id) => store.get(id) ?? []) : store.all();
    const matching = candidates.filter((r) => states.has(r.state));
    matching.sort((a, b) => compareKeys(keyOf(a), keyOf(b)));
    let i = 0;
    if (after) while (i < matching.length && compareKeys(keyOf(matching[i] as Request), after) <= 0) i++;
    const page: PendingResult['requests'] = [];
    let bytes = 0;
    for (; i < matching.length && page.length < limit && bytes < PAGE_BYTES; i++) {
      const view = publicView(matching[i] as Request);
      bytes += JSON.stringify(view).length;
      page.push(view);
    }
    const result: PendingResult = { requests: page, total: matching.length };
    const last = page[page.length - 1];
    if (i < matching.length && last) result.next = cursorOf(last.createdAt, last.id);
    return result;
  },
});
