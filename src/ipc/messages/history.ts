/**
 * Message `history {goal?, limit?, after?}`: requests in any state, newest first by `updatedAt`
 * (then id), optionally only one goal's, each with its number of candidates, one page at a
 * time like `pending`: pass the returned `next` back as `after`; no `next` means the last page.
 * A request updated between two pages moves to the front, so a later page does not list it.
 * Reads only.
 */
import { z } from 'zod';
import type { RequestView } from '../../requests/request.js';
import { MAX_PAGE } from './pending.js';

/** Entries per page when the client does not say (each costs the daemon a directory read). */
export const DEFAULT_HISTORY_PAGE = 200;

export const HistoryParams = z.strictObject({
  goal: z.string().min(1).max(4096).optional(),
  limit: z.int().min(1).max(MAX_PAGE).optional(),
  /** The `next` cursor of the previous page. */
  after: z.string().max(300).optional(),
});
export type HistoryParams = z.input<typeof HistoryParams>;

export interface HistoryEntry {
  request: RequestView & { resolution?: string };
  candidates: number;
}

export interface HistoryResult {
  entries: HistoryEntry[];
  /** Requests (of the goal, if given) in all, every page. */
  total: number;
  /** Cursor for the next page; absent on the last page. */
  next?: string;
}
