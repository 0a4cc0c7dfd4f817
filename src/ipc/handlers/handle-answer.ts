/** Handler of `answer`: resolves only after the engine has made the answer durable. */
import { publicView } from '../../requests/request.js';
import { AnswerParams } from '../messages/answer.js';
import { defineHandler } from './handler.js';

export const handleAnswer = defineHandler({
  method: 'answer',
  params: AnswerParams,
  async handle(ctx, params) {
    return publicView(await ctx.engine.answer(params.id, params.text, params.review ? { review: true } : {}));
  },
});
