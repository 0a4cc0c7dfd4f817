/**
 * Message `history {goal?}`: every request in any state, newest first by `updatedAt`,
 * optionally only one goal's, each with its number of candidates. Reads only.
 */
import { z } from 'zod';
import type { RequestView } from '../../requests/request.js';

export const HistoryParams = z.strictObject({ goal: z.string().min(1).max(4096).optional() });
export type HistoryParams = z.input<typeof HistoryParams>;

export interface HistoryEntry {
  request: RequestView & { resolution?: string };
  candidates: number;
}

export interface HistoryResult {
  entries: HistoryEntry[];
}
