/** Message `retry {id}`: generate a failed request again now, from its kept description. */
import { z } from 'zod';
import type { RequestView } from '../../requests/request.js';
import { RequestIdParam } from './request-id.js';

export const RetryParams = z.strictObject({ id: RequestIdParam });
export type RetryParams = z.input<typeof RetryParams>;
export type RetryResult = RequestView;
