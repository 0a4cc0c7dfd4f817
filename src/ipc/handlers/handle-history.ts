/** Handler of `history`: one page of requests (all states), newest first by `updatedAt`, optionally one goal's. */
import type { Request } from '../../requests/request.js';
import { DEFAULT_HISTORY_PAGE, HistoryParams, type HistoryResult } from '../messages/history.js';
import { defineHandler } from './handler.js';
import { compareKeys, cursorOf, PAGE_BYTES, parseCursor } from './page-cursor.js';
import { historyView } from './request-lookup.js';

/** Newest first: `updatedAt` descending, then id ascending (a total order, so the cursor is exact). */
const order = (a: readonly [string, string], b: readonly [string, string]) => (a[0] !== b[0] ? (a[0] > b[0] ? -1 : 1) : compareKeys(a, b));
const keyOf = (r: Request): [string, string] => [r.updatedAt, r.id];

export const handleHistory = defineHandler({
  method: 'history',
  params: HistoryParams,
  async handle(ctx, params): Promise<HistoryResult> {
    const { store, candidates } = ctx.engine;
    const after = params.after === undefined ? undefined : parseCursor(params.after, 'history');
    const limit = params.limit ?? DEFAULT_HISTORY_PAGE;
    const requests = store.all().filter((r) => params.goal === undefined || r.goal === params.goal);
    requests.sort((a, b) => order(keyOf(a), keyOf(b)));
    let i = 0;
    if (after) while (i < requests.length && order(keyOf(requests[i] as Request), after) <= 0) i++;
    const entries: HistoryResult['entries'] = [];
    let bytes = 0;
    for (; i < requests.length && entries.length < limit && bytes < PAGE_BYTES; i++) {
      const r = requests[i] as Request;
      const entry = { request: historyView(r), candidates: (await candidates.list(r.id)).length };
      bytes += JSON.stringify(entry).length;
      entries.push(entry);
    }
    const result: HistoryResult = { entries, total: requests.length };
    const last = entries.at(-1)?.request;
    if (i < requests.length && last) result.next = cursorOf(last.updatedAt, last.id);
    return result;
  },
});
