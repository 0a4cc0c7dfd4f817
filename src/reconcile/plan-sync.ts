/**
 * Planning: compare the map, the component index and the request records, and decide what
 * must happen. Pure (no I/O), so the same rules serve the start-up reconcile, every watcher
 * hint and `jitctl reconcile`, and can be tested exhaustively.
 *
 * For each valid map entry `(goal, type) -> F`:
 *  - F exists                           -> satisfied; an open request for it is resolved (a person wrote it);
 *  - F missing, and the request for exactly (goal, type, F) owns a generated file G that exists
 *    (in flight: an install cut short after publishing; done, generated or adopted: a person's
 *    save that dropped jitd's change)   -> roll forward: repoint F -> G;
 *  - F missing, no record of (goal, type) at all, and the plain generated name G exists (the state
 *    directory was lost, or a seed-era run crashed between its two steps) -> adopt: repoint F -> G;
 *  - F missing, F itself a generated name with no request of its own (the map names jitd's output
 *    again after a branch switch) -> restore it from quarantine or the kept output (apply-plan.ts);
 *  - F missing otherwise, no request    -> create a `waiting` request (a name a person wrote gets
 *                                          its own; its generated name gets a hash where the plain
 *                                          one is another request's or on disk);
 *  - F and G missing, request answered  -> (re)start generation; failed ones when their back-off ends;
 *  - F and G missing, request done      -> reopen: it keeps its description (and kept output), and
 *                                          is filled from them without asking (contract §3).
 * Invariant 4: jitd never "corrects" a name a person wrote — F is repointed only to the file that
 * was generated for F.
 * An entry whose type directory could not be read is left alone (neither requested nor
 * rolled forward; its request is kept). Failed requests are retried when their back-off ends
 * (permanent failures: on `jitctl retry`).
 * Requests whose entry left the map: `waiting` ones are withdrawn, `rejected` ones forgotten
 * (the entry changed), answered/failed ones kept dormant — an answer is never thrown away.
 */
import type { MapEntry } from '../library/goal-map.js';
import { generatedName, isGeneratedName } from '../library/names.js';
import { distinctGeneratedName, hasAnswer, isInFlight, newRequest, ownsGeneratedFile, type Request } from '../requests/request.js';
import type { Repoint } from '../install/map-commit.js';
import { ReferencedNames } from './referenced-names.js';
import type { ComponentIndex } from '../library/component-index.js';

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
  /**
   * Entries naming a missing generated file that has no request of its own: restore it (from
   * quarantine, or from the kept output of `source`, the request it was generated for); only if
   * jitd has no copy is it asked for.
   */
  restore: { entry: MapEntry; source?: Request }[];
  /** Requests whose generation should be started now. */
  generate: Request[];
  /** Failed requests to retry later, with the earliest time. */
  retryLater: Request[];
  /** Done requests whose component vanished: reopened with their description, filled without asking. */
  reopen: Request[];
  /** Waiting requests whose entry left the map. */
  withdraw: Request[];
  /** Rejected requests whose entry changed: forget the rejection. */
  forget: Request[];
  /** Every (type, file name) the map references once the plan is applied. */
  referenced: ReferencedNames;
}

const entryKey = (goal: string, type: string) => `${goal}\0${type}`;

/** The newest record among `records` whose generated file is `name` and was installed. */
function outputOf(records: readonly Request[] | undefined, name: string): Request | undefined {
  let best: Request | undefined;
  // Stryker disable next-line ArrayDeclaration: equivalent — a made-up element has no generatedName, so it is skipped like none.
  for (const o of records ?? []) {
    if (o.generatedName !== name || o.state !== 'done' || !ownsGeneratedFile(o)) continue;
    // Stryker: `>` → `>=` is equivalent — it only picks between records equally new, either of which is the newest.
    if (!best || o.updatedAt > best.updatedAt) best = o;
  }
  return best;
}

/** True the first time an entry is seen (its three names joined by NUL, which none may contain). */
function once(seen: Set<string>, e: MapEntry): boolean {
  const key = `${e.goal}\0${e.type}\0${e.filename}`;
  if (seen.has(key)) return false;
  seen.add(key);
  return true;
}

export function planSync(
  entries: readonly MapEntry[],
  index: ComponentIndex,
  records: ReadonlyMap<string, Request>,
  opts: { now?: number; retryAllFailed?: boolean } = {},
): SyncPlan {
  const now = opts.now ?? Date.now();
  // Planning runs on every hint, over every entry (100,000 in a large library), so the loop below
  // allocates nothing for the common case — an entry whose file exists and has no request: no
  // request id (a SHA-256) per entry, no key strings; `referenced` (needed by the orphan pass of
  // a full reconcile only) is built on first use from the entries recorded here.
  const referencedEntries: MapEntry[] = [];
  const referencedGenerated: { type: string; name: string }[] = [];
  let referenced: ReferencedNames | undefined;
  const plan: SyncPlan = {
    create: [],
    resolvedByPerson: [],
    closeInstalled: [],
    rollForward: [],
    restore: [],
    generate: [],
    retryLater: [],
    reopen: [],
    withdraw: [],
    forget: [],
    get referenced(): ReferencedNames {
      if (!referenced) {
        referenced = new ReferencedNames();
        for (const e of referencedEntries) referenced.add(e.type, e.filename);
        for (const g of referencedGenerated) referenced.add(g.type, g.name);
      }
      return referenced;
    },
  };
  // Records by the entry they belong to (looked up by file name, then goal and type), and open
  // requests by the entry they will produce once installed (goal, type, generated name).
  const byFile = new Map<string, Request[]>();
  const openByResult = new Map<string, Request[]>();
  // Every record of an entry (goal, type), whatever its file name: an entry jitd has a record of
  // but not for this name is one a person renamed; one with no record at all lost its state.
  const byEntry = new Map<string, Request[]>();
  const push = (m: Map<string, Request[]>, k: string, r: Request) => {
    const list = m.get(k);
    if (list) list.push(r);
    else m.set(k, [r]);
  };
  for (const r of records.values()) {
    push(byFile, r.filename, r);
    push(byEntry, entryKey(r.goal, r.type), r);
    if (isInFlight(r)) push(openByResult, r.generatedName, r);
  }
  const find = (m: Map<string, Request[]>, e: MapEntry, name: string): Request | undefined => {
    const list = m.get(name);
    if (!list) return undefined;
    for (let i = list.length - 1; i >= 0; i--) {
      const r = list[i] as Request;
      if (r.goal === e.goal && r.type === e.type) return r;
    }
    return undefined;
  };
  // The files of each type's directory, looked up once per type rather than once per entry.
  const dirs = new Map<string, ReadonlySet<string> | undefined>();
  const filesOf = (type: string) => {
    // Stryker: `dirs.has(type)` → false is equivalent — a cache only: filesIn answers the same again.
    if (dirs.has(type)) return dirs.get(type);
    const files = index.filesIn(`${type}s`);
    dirs.set(type, files);
    return files;
  };
  // Entries that led to an action, by key: a repeated entry acts once. (An entry that needs no
  // action needs no de-duplication either: the same entry always plans the same way.)
  const acted = new Set<string>();
  const matched = new Set<Request>();
  const anyUnreadable = index.hasUnreadable;
  for (const e of entries) {
    const files = filesOf(e.type);
    const r = find(byFile, e, e.filename);
    // Stryker: `r` → true is equivalent — adding undefined to `matched` matches no record.
    if (r) matched.add(r);
    // Its directory could not be read: whether the file exists is unknown, so nothing is done.
    if (anyUnreadable && index.isUnreadable(`${e.type}s`)) continue;
    if (files?.has(e.filename)) {
      referencedEntries.push(e);
      const installed = openByResult.size ? find(openByResult, e, e.filename) : undefined;
      const close = installed && installed.filename !== e.filename;
      // The allocation-free fast path. Stryker: its mutants that take it less often (→ false, or
      // without `r &&` / `!== 'done'`) are equivalent — the two `if`s below re-check each condition.
      if (!(r && r.state !== 'done') && !close) continue;
      if (!once(acted, e)) continue;
      if (r && r.state !== 'done') plan.resolvedByPerson.push(r);
      if (close) plan.closeInstalled.push(installed);
      continue;
    }
    if (!once(acted, e)) continue;
    const known = byEntry.size ? byEntry.get(entryKey(e.goal, e.type)) : undefined;
    // The generated file that was made for exactly this (goal, type, F), if any.
    const g = r ? (ownsGeneratedFile(r) ? r.generatedName : undefined) : known ? undefined : generatedName(e.goal, e.type);
    // Stryker: `g !== undefined` → true is equivalent — files.has(undefined) is false.
    if (g !== undefined && files?.has(g)) {
      referencedGenerated.push({ type: e.type, name: g });
      plan.rollForward.push({ repoint: { goal: e.goal, type: e.type, from: e.filename, to: g }, ...(r ? { request: r } : {}) });
      continue;
    }
    if (!r) {
      if (isGeneratedName(e.filename)) {
        referencedEntries.push(e);
        const source = outputOf(known, e.filename);
        plan.restore.push({ entry: e, ...(source ? { source } : {}) });
        continue;
      }
      const plain = generatedName(e.goal, e.type);
      const taken = files?.has(plain) || known?.some((o) => o.generatedName === plain && (hasAnswer(o) || o.state === 'done'));
      plan.create.push(newRequest(e.goal, e.type, e.filename, new Date(now), taken ? distinctGeneratedName(e.goal, e.type, e.filename) : undefined));
      continue;
    }
    switch (r.state) {
      case 'answered':
        plan.generate.push(r);
        break;
      case 'failed':
        // A permanent failure (no nextAttemptAt) waits for `jitctl retry` or the next start
        // (retryAllFailed), when the person may have fixed the key or the model name.
        // Stryker: `r.nextAttemptAt !== undefined` → true is equivalent here — `undefined <= now` is false.
        if (opts.retryAllFailed || (r.nextAttemptAt !== undefined && r.nextAttemptAt <= now)) plan.generate.push(r);
        else if (r.nextAttemptAt !== undefined) plan.retryLater.push(r);
        break;
      case 'done':
        plan.reopen.push(r);
        break;
      // Stryker disable next-line ConditionalExpression: equivalent — emptying a case that only breaks.
      default: // waiting, rejected, generating, installing: nothing to do now
        break;
    }
  }
  for (const r of records.values()) {
    if (matched.has(r)) continue;
    if (r.state === 'waiting') plan.withdraw.push(r);
    else if (r.state === 'rejected') plan.forget.push(r);
  }
  return plan;
}
