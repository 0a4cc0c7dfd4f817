/** Handler of `regenerate`: resolves once the regeneration is recorded durably; the new candidate follows. */
import { publicView } from '../../requests/request.js';
import { RegenerateParams } from '../messages/regenerate.js';
import { defineHandler } from './handler.js';

export const handleRegenerate = defineHandler({
  method: 'regenerate',
  params: RegenerateParams,
  async handle(ctx, params) {
    const opts = { ...(params.feedback !== undefined ? { feedback: params.feedback } : {}), ...(params.review ? { review: true } : {}) };
    return publicView(await ctx.engine.regenerate(params.id, opts));
  },
});
