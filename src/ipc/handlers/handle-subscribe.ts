/** Handler of `subscribe`: arms the event stream for this connection (see HandlerCall.subscribe). */
import { SubscribeParams } from '../messages/subscribe.js';
import { defineHandler } from './handler.js';

export const handleSubscribe = defineHandler({
  method: 'subscribe',
  params: SubscribeParams,
  async handle(_ctx, params, call) {
    call.subscribe(params.types);
    return { subscribed: true as const };
  },
});
