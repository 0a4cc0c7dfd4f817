/** Message `reject {id}`: decline a waiting or failed request (not asked again until its entry changes), or a draft (of a done request: it stays done with its installed text). */
import { z } from 'zod';
import type { RequestView } from '../../requests/request.js';
import { RequestIdParam } from './request-id.js';

export const RejectParams = z.strictObject({ id: RequestIdParam });
export type RejectParams = z.input<typeof RejectParams>;
export type RejectResult = RequestView;
