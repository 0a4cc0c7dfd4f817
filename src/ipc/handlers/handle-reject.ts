/** Handler of `reject`. */
import { publicView } from '../../requests/request.js';
import { RejectParams } from '../messages/reject.js';
import { defineHandler } from './handler.js';

export const handleReject = defineHandler({
  method: 'reject',
  params: RejectParams,
  async handle(ctx, params) {
    return publicView(await ctx.engine.reject(params.id));
  },
});
