/**
 * Message `edit {id, text?}`: without `text`, answers the text a person would edit (a draft's
 * candidate, or a done generated component's installed text); with `text`, that text becomes
 * the newest candidate and the draft, answered once both are durable (docs/review.md).
 */
import { z } from 'zod';
import type { RequestView } from '../../requests/request.js';
import { RequestIdParam } from './request-id.js';

/** Largest text accepted (the socket's line limit is 1 MiB, JSON escaping included). */
export const MAX_EDIT_BYTES = 512 * 1024;

export const EditParams = z.strictObject({
  id: RequestIdParam,
  text: z
    .string()
    .min(1)
    .refine((t) => Buffer.byteLength(t) <= MAX_EDIT_BYTES, `the text is over ${MAX_EDIT_BYTES} bytes`)
    .optional(),
});
export type EditParams = z.input<typeof EditParams>;
export interface EditResult {
  request: RequestView;
  /** Reading: the text, and where it is from. */
  text?: string;
  source?: 'candidate' | 'installed';
  /** The candidate shown (reading a draft) or made (saving). */
  candidate?: number;
}
