/**
 * Message `approve {id, candidate?}`: install a draft's candidate (its current one, or an
 * earlier one: a rollback). Answered with the request's view once the approval is durable.
 */
import { z } from 'zod';
import type { RequestView } from '../../requests/request.js';
import { RequestIdParam } from './request-id.js';

export const ApproveParams = z.strictObject({ id: RequestIdParam, candidate: z.int().min(1).max(1_000_000).optional() });
export type ApproveParams = z.input<typeof ApproveParams>;
export type ApproveResult = RequestView;
