/**
 * Message `answer {id, text}`: the person's one-line description for a waiting request. Answered
 * with the request's view only once the answer is durable on disk.
 */
import { z } from 'zod';
import { MAX_DESCRIPTION_LENGTH, type RequestView } from '../../requests/request.js';
import { RequestIdParam } from './request-id.js';

export const AnswerParams = z.strictObject({
  id: RequestIdParam,
  // Slack over the engine's bound: it collapses whitespace first, then applies its own limit.
  text: z
    .string()
    .min(1)
    .max(MAX_DESCRIPTION_LENGTH * 4),
  /** Hold this request's component for review (a draft) whatever `generation.review` says. */
  review: z.boolean().optional(),
});
export type AnswerParams = z.input<typeof AnswerParams>;
export type AnswerResult = RequestView;
