/**
 * Message `preview {id, description?}`: the exact messages the model would get for a request,
 * with their sizes, a token estimate and what library context was included or left out. Calls
 * no model; works in every state. Without `description` the request's own is used, or — for a
 * request nobody has answered — a marked placeholder ({@link DESCRIPTION_PLACEHOLDER}).
 */
import { z } from 'zod';
import type { GoalPart, OmittedComponent } from '../../generation/context.js';
import type { ChatMessage } from '../../generation/messages.js';
import { MAX_DESCRIPTION_LENGTH, type RequestView } from '../../requests/request.js';
import { RequestIdParam } from './request-id.js';

/** Stands where the description goes while a request has none. */
export const DESCRIPTION_PLACEHOLDER = "[[no description yet: the person's answer goes here]]";

export const PreviewParams = z.strictObject({
  id: RequestIdParam,
  // Slack over the bound, as for `answer`: whitespace is collapsed first, then the limit applies.
  description: z
    .string()
    .min(1)
    .max(MAX_DESCRIPTION_LENGTH * 4)
    .optional(),
});
export type PreviewParams = z.input<typeof PreviewParams>;

/** A component whose text is in the messages. */
export interface PreviewIncluded {
  kind: 'sibling' | 'example';
  type: string;
  filename: string;
  bytes: number;
  /** Examples: the goals that use the file, and the name words it shares with the request. */
  goals?: string[];
  overlap?: string[];
}

export interface PreviewResult {
  request: RequestView;
  /** The provider configured (`template` sends nothing: the messages are what `openai` would send). */
  provider: { name: string; model?: string; baseURL?: string };
  /** True when the description in the messages is {@link DESCRIPTION_PLACEHOLDER}. */
  descriptionPlaceholder: boolean;
  /** As sent: the `messages` array of the chat-completions call. */
  messages: ChatMessage[];
  sizes: { role: string; bytes: number; tokens: number }[];
  bytes: number;
  tokens: number;
  /** How `tokens` is estimated. */
  tokenRule: string;
  context: {
    budgetBytes: number;
    usedBytes: number;
    /** Where the instructions came from: `built-in` or a file path. */
    instructions: { common: string; type: string };
    goalParts: GoalPart[];
    included: PreviewIncluded[];
    omitted: OmittedComponent[];
  };
}
