/** What the read-only handlers (`show`, `history`, `preview`) share: finding a request, and its fuller view. */
import { JitdError } from '../../fsio/errors.js';
import { publicView, type Request } from '../../requests/request.js';
import type { ShowResult } from '../messages/show.js';
import type { DaemonContext } from '../context.js';

/** The request by id or unique prefix, or a typed error naming what was asked. */
export function findRequest(ctx: DaemonContext, id: string): Request {
  const r = ctx.engine.store.resolve(id);
  if (r === 'ambiguous') throw new JitdError('EAMBIGUOUS', `request id prefix ${id} matches more than one request`);
  if (!r) throw new JitdError('ENOREQUEST', `no request ${id}`);
  return r;
}

/** The public view plus how a done request was resolved (`publicView` leaves it out). */
export function historyView(r: Request): ShowResult['request'] {
  return { ...publicView(r), ...(r.resolution !== undefined ? { resolution: r.resolution } : {}) };
}
