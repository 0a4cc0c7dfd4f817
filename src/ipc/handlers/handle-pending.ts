/**
 * Handler of `pending`: one page of requests in the asked states, oldest first. The cursor is
 * the sort key of the page's last request, so pages stay consistent while requests come and go.
 * A page ends at `limit` requests or once its JSON passes ~1 MiB, whichever comes first.
 */
import { JitdError } from '../../fsio/errors.js';
import { publicView, type Request, type RequestState } from '../../requests/request.js';
import { DEFAULT_PAGE, PendingParams, type PendingResult } from '../messages/pending.js';
import { defineHandler } from './handler.js';

const PAGE_BYTES = 1024 * 1024;

const cursorOf = (r: Pick<Request, 'createdAt' | 'id'>) => Buffer.from(JSON.stringify([r.createdAt, r.id])).toString('base64url');

function parseCursor(cursor: string): [string, string] {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string') return [v[0], v[1]];
  } catch {
    // fall through
  }
  throw new JitdError('EINVALID', 'params.after: not a cursor returned by pending');
}

const byAge = (a: Request, b: Request) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export const handlePending = defineHandler({
  method: 'pending',
  params: PendingParams,
  async handle(ctx, params) {
    const states = new Set<RequestState>(params.states ?? ['waiting']);
    const limit = params.limit ?? DEFAULT_PAGE;
    const after = params.after === undefined ? undefined : parseCursor(params.after);
    const { store } = ctx.engine;
    const candidates = params.ids ? [...new Set(params.ids)].flatMap((id) => store.get(id) ?? []) : store.all();
    const matching = candidates.filter((r) => states.has(r.state));
    matching.sort(byAge);
    let i = 0;
    if (after) {
      const [at, id] = after;
      while (i < matching.length) {
        const r = matching[i] as Request;
        if (r.createdAt > at || (r.createdAt === at && r.id > id)) break;
        i++;
      }
    }
    const page: PendingResult['requests'] = [];
    let bytes = 0;
    for (; i < matching.length && page.length < limit && bytes < PAGE_BYTES; i++) {
      const view = publicView(matching[i] as Request);
      bytes += JSON.stringify(view).length;
      page.push(view);
    }
    const result: PendingResult = { requests: page, total: matching.length };
    const last = page[page.length - 1];
    if (i < matching.length && last) result.next = cursorOf(last);
    return result;
  },
});
