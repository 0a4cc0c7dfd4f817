/** Handler of `history`: every request (all states), newest first by `updatedAt`, optionally one goal's. */
import type { Request } from '../../requests/request.js';
import { HistoryParams, type HistoryResult } from '../messages/history.js';
import { defineHandler } from './handler.js';
import { historyView } from './request-lookup.js';

const newestFirst = (a: Request, b: Request) => (a.updatedAt < b.updatedAt ? 1 : a.updatedAt > b.updatedAt ? -1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export const handleHistory = defineHandler({
  method: 'history',
  params: HistoryParams,
  async handle(ctx, params): Promise<HistoryResult> {
    const { store, candidates } = ctx.engine;
    const requests = store.all().filter((r) => params.goal === undefined || r.goal === params.goal);
    requests.sort(newestFirst);
    const entries: HistoryResult['entries'] = [];
    for (const r of requests) entries.push({ request: historyView(r), candidates: (await candidates.list(r.id)).length });
    return { entries };
  },
});
