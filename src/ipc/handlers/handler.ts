/**
 * The shape of a message handler: one per method, each with the zod schema of its params. The
 * server validates params with the schema before the handler runs, so handlers see typed input.
 */
import type { z } from 'zod';
import type { EngineEventType } from '../../jobs/events.js';
import type { Peer } from '../../requests/provenance.js';
import type { DaemonContext } from '../context.js';
import type { Method, ResultOf } from '../messages/index.js';
import type { RequestId } from '../protocol.js';

/** What a handler may do with the connection the request came on. */
export interface HandlerCall {
  /** The request's id, as the client sent it. */
  id: RequestId;
  /**
   * Who sent it: the connection's peer credentials as the kernel gave them at accept (never
   * what the client says); undefined where the native helper is not built.
   */
  peer?: Peer;
  /**
   * Streams engine events (of `types`, or all) to this client as `{"id", "event"}` lines, starting
   * right after the response to this request; events emitted in between are held, not lost.
   */
  subscribe(types?: readonly EngineEventType[]): void;
}

export interface MessageHandler<M extends Method, S extends z.ZodType = z.ZodType> {
  method: M;
  params: S;
  handle(ctx: DaemonContext, params: z.output<S>, call: HandlerCall): Promise<ResultOf<M>>;
}

/** Declares a handler with its types checked against the method table. */
export function defineHandler<M extends Method, S extends z.ZodType>(h: MessageHandler<M, S>): MessageHandler<M, S> {
  return h;
}
