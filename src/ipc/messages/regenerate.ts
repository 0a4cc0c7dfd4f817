/**
 * Message `regenerate {id, feedback?, review?}`: a new candidate of a draft, or of a done
 * generated component, written by the model from the previous text and the feedback
 * (docs/review.md). Answered with the request's view once the intent is durable; the new draft
 * (`request.draft`) or the replacement (`request.replaced`) follows as an event.
 */
import { z } from 'zod';
import { MAX_DESCRIPTION_LENGTH, type RequestView } from '../../requests/request.js';
import { RequestIdParam } from './request-id.js';

export const RegenerateParams = z.strictObject({
  id: RequestIdParam,
  // Slack over the engine's bound: it collapses whitespace first, then applies its own limit.
  feedback: z
    .string()
    .max(MAX_DESCRIPTION_LENGTH * 4)
    .optional(),
  /** Hold the result as a draft even where a done component would be replaced at once. */
  review: z.boolean().optional(),
});
export type RegenerateParams = z.input<typeof RegenerateParams>;
export type RegenerateResult = RequestView;
