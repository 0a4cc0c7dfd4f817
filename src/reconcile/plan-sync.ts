/**
 * Planning: compare the map, the component index and the request records, and decide what
 * must happen. Pure (no I/O), so the same rules serve the start-up reconcile, every watcher
 * hint and `jitctl reconcile`, and can be tested exhaustively.
 *
 * For each valid map entry `(goal, type) -> F`:
 *  - F exists                          -> satisfied; an open request for it is resolved (a person wrote it);
 *  - F missing, generated name G exists -> roll forward: repoint F -> G (an interrupted install,
 *                                          or a person's save that dropped jitd's change);
 *  - F and G missing, no request        -> create a `waiting` request;
 *  - F and G missing, request answered  -> (re)start generation; failed ones when their back-off ends;
 *  - F and G missing, request done      -> the component was deleted since: ask anew.
 * Failed requests are retried when their back-off ends (permanent failures: on `jitctl retry`).
 * Requests whose entry left the map: `waiting` ones are withdrawn, `rejected` ones forgotten
 * (the entry changed), answered/failed ones kept dormant — an answer is never thrown away.
 */
import type { MapEntry } from '../library/goal-map.js';
import { generatedName } from '../library/names.js';
import { isInFlight, newRequest, requestId, type Request } from '../requests/request.js';
import type { Repoint } from '../install/map-commit.js';
import type { ComponentIndex } from './scan-components.js';

export interface SyncPlan {
  create: Request[];
  /** Open requests whose file a person wrote: resolve without generation. */
  resolvedByPerson: Request[];
  /**
   * Open requests whose generated file the map already names: the install finished but its
   * `done` record was lost (it is written without fsync; the map write is the durable fact).
   */
  closeInstalled: Request[];
  /** Map entries to repoint to an existing generated file, with the request to close if any. */
  rollForward: { repoint: Repoint; request?: Request }[];
  /** Requests whose generation should be started now. */
  generate: Request[];
  /** Failed requests to retry later, with the earliest time. */
  retryLater: Request[];
  /** Done requests whose component vanished: ask again. */
  reopen: Request[];
  /** Waiting requests whose entry left the map. */
  withdraw: Request[];
  /** Rejected requests whose entry changed: forget the rejection. */
  forget: Request[];
  /** Every (type dir, file name) the map references once the plan is applied. */
  referenced: Set<string>;
}

export const refKey = (type: string, name: string) => `${type}s/${name}`;

export function planSync(
  entries: readonly MapEntry[],
  index: ComponentIndex,
  records: ReadonlyMap<string, Request>,
  opts: { now?: number; retryAllFailed?: boolean } = {},
): SyncPlan {
  const now = opts.now ?? Date.now();
  const plan: SyncPlan = {
    create: [],
    resolvedByPerson: [],
    closeInstalled: [],
    rollForward: [],
    generate: [],
    retryLater: [],
    reopen: [],
    withdraw: [],
    forget: [],
    referenced: new Set(),
  };
  // Open requests by the entry they will produce once installed: (goal, type, generated name).
  const openByResult = new Map<string, Request>();
  for (const r of records.values()) {
    if (isInFlight(r)) openByResult.set(JSON.stringify([r.goal, r.type, r.generatedName]), r);
  }
  const seen = new Set<string>();
  for (const e of entries) {
    const id = requestId(e.goal, e.type, e.filename);
    if (seen.has(id)) continue;
    seen.add(id);
    const r = records.get(id);
    if (index.has(e.type, e.filename)) {
      plan.referenced.add(refKey(e.type, e.filename));
      if (r && r.state !== 'done') plan.resolvedByPerson.push(r);
      const installed = openByResult.get(JSON.stringify([e.goal, e.type, e.filename]));
      if (installed && installed.id !== id) plan.closeInstalled.push(installed);
      continue;
    }
    const g = r?.generatedName ?? generatedName(e.goal, e.type);
    if (index.has(e.type, g)) {
      plan.referenced.add(refKey(e.type, g));
      plan.rollForward.push({ repoint: { goal: e.goal, type: e.type, from: e.filename, to: g }, ...(r ? { request: r } : {}) });
      continue;
    }
    if (!r) {
      plan.create.push(newRequest(e.goal, e.type, e.filename));
      continue;
    }
    switch (r.state) {
      case 'answered':
        plan.generate.push(r);
        break;
      case 'failed':
        // A permanent failure (no nextAttemptAt) waits for `jitctl retry` or the next start
        // (retryAllFailed), when the person may have fixed the key or the model name.
        if (opts.retryAllFailed || (r.nextAttemptAt !== undefined && r.nextAttemptAt <= now)) plan.generate.push(r);
        else if (r.nextAttemptAt !== undefined) plan.retryLater.push(r);
        break;
      case 'done':
        plan.reopen.push(r);
        break;
      default: // waiting, rejected, generating, installing: nothing to do now
        break;
    }
  }
  for (const r of records.values()) {
    if (seen.has(r.id)) continue;
    if (r.state === 'waiting') plan.withdraw.push(r);
    else if (r.state === 'rejected') plan.forget.push(r);
  }
  return plan;
}
