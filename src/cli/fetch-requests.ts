/** Fetches every page of `pending` (for `--json`, which must list them all, and for `prompt`). */
import type { ControlClient } from '../ipc/client.js';
import { MAX_PAGE } from '../ipc/messages/pending.js';
import type { RequestState, RequestView } from '../requests/request.js';
import { showName } from './safe-text.js';

/** All requests in `states`, oldest first, following the `next` cursor to the last page. */
export async function fetchAllRequests(client: ControlClient, states: RequestState[] = ['waiting'], pageSize = MAX_PAGE): Promise<RequestView[]> {
  const all: RequestView[] = [];
  let after: string | undefined;
  do {
    const page = await client.call('pending', { states, limit: pageSize, ...(after ? { after } : {}) });
    all.push(...page.requests);
    after = page.next;
  } while (after);
  return all;
}

/** `protocols/name.txt`: where a request's missing file lives under componentsDir (escaped for display). */
export function missingPath(r: Pick<RequestView, 'type' | 'filename'>): string {
  return `${showName(r.type)}s/${showName(r.filename)}`;
}
