/** Message `compose {goal}`: the assembled prompt for a goal, its components in map order. */
import { z } from 'zod';
import type { Composition } from '../../library/compose.js';

export const ComposeParams = z.strictObject({
  goal: z.string().min(1).max(1024),
});
export type ComposeParams = z.input<typeof ComposeParams>;
export type ComposeResult = Composition;
