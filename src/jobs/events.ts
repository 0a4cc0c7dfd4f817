/**
 * Events the engine emits: the socket's `subscribe` streams them, the logger records them.
 */
import type { RequestView } from '../requests/request.js';

export type EngineEvent =
  | { type: 'request.added'; request: RequestView }
  | { type: 'request.answered'; request: RequestView }
  | { type: 'request.generating'; request: RequestView }
  | { type: 'request.installed'; request: RequestView; path: string }
  | { type: 'request.failed'; request: RequestView; error: string }
  | { type: 'request.resolved'; request: RequestView; how: 'person' | 'adopted' }
  | { type: 'request.withdrawn'; request: RequestView }
  | { type: 'request.rejected'; request: RequestView }
  | { type: 'request.reopened'; request: RequestView }
  | { type: 'request.draft'; request: RequestView; candidate: number }
  | { type: 'request.approved'; request: RequestView; candidate: number }
  | { type: 'request.regenerating'; request: RequestView; feedback?: string }
  | { type: 'request.replaced'; request: RequestView; candidate: number; path: string }
  | { type: 'map.error'; message: string }
  | { type: 'map.ok'; goals: number }
  | { type: 'write.error'; message: string }
  | { type: 'reconciled'; summary: Record<string, unknown> };

export type EngineEventType = EngineEvent['type'];
