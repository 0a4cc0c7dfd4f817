/** Handler of `approve`: resolves once the approval is durable; the install follows. */
import { publicView } from '../../requests/request.js';
import { ApproveParams } from '../messages/approve.js';
import { defineHandler } from './handler.js';

export const handleApprove = defineHandler({
  method: 'approve',
  params: ApproveParams,
  async handle(ctx, params, call) {
    return publicView(await ctx.engine.approve(params.id, params.candidate, call.peer));
  },
});
