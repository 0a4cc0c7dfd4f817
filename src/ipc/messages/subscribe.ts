/**
 * Message `subscribe {types?}`: answered `{subscribed: true}`, then one `{"id", "event"}` line per
 * engine event of the given types (all types by default) until the client disconnects.
 */
import { z } from 'zod';
import type { EngineEvent, EngineEventType } from '../../jobs/events.js';

/** Every event type the engine emits. */
export const EVENT_TYPES = [
  'request.added',
  'request.answered',
  'request.generating',
  'request.installed',
  'request.failed',
  'request.resolved',
  'request.withdrawn',
  'request.rejected',
  'request.reopened',
  'request.draft',
  'request.approved',
  'request.regenerating',
  'request.replaced',
  'map.error',
  'map.ok',
  'write.error',
  'reconciled',
] as const satisfies readonly EngineEventType[];

// Compile-time guard: a new EngineEvent type must be added to EVENT_TYPES.
type Unlisted = Exclude<EngineEventType, (typeof EVENT_TYPES)[number]>;
const _allListed: [Unlisted] extends [never] ? true : never = true;
void _allListed;

export const SubscribeParams = z.strictObject({
  types: z.array(z.enum(EVENT_TYPES)).min(1).max(EVENT_TYPES.length).optional(),
});
export type SubscribeParams = z.input<typeof SubscribeParams>;
export interface SubscribeResult {
  subscribed: true;
}
export type { EngineEvent };
