/**
 * Message `pending`: requests in the given states (default `waiting`), oldest first (createdAt,
 * then id), one page at a time. Pass the returned `next` back as `after` for the following page;
 * no `next` means this was the last page.
 */
import { z } from 'zod';
import { REQUEST_STATES, type RequestView } from '../../requests/request.js';

/** Requests per page when the client does not say. */
export const DEFAULT_PAGE = 500;
/** Most requests per page. A page also stops early once its JSON passes ~1 MiB. */
export const MAX_PAGE = 5000;

export const PendingParams = z.strictObject({
  limit: z.int().min(1).max(MAX_PAGE).optional(),
  /** The `next` cursor of the previous page. */
  after: z.string().max(300).optional(),
  states: z.array(z.enum(REQUEST_STATES)).min(1).max(REQUEST_STATES.length).optional(),
  /** Only these requests (full ids), e.g. to re-check one before asking about it. */
  ids: z
    .array(z.string().regex(/^[0-9a-f]{12}$/))
    .min(1)
    .max(MAX_PAGE)
    .optional(),
});
export type PendingParams = z.input<typeof PendingParams>;

export interface PendingResult {
  requests: RequestView[];
  /** Requests in these states in all (every page). */
  total: number;
  /** Cursor for the next page; absent on the last page. */
  next?: string;
}
