/** Handler of `retry`. */
import { publicView } from '../../requests/request.js';
import { RetryParams } from '../messages/retry.js';
import { defineHandler } from './handler.js';

export const handleRetry = defineHandler({
  method: 'retry',
  params: RetryParams,
  async handle(ctx, params) {
    return publicView(await ctx.engine.retry(params.id));
  },
});
