/** Handler of `answer`: resolves only after the engine has made the answer durable. */
import { publicView } from '../../requests/request.js';
import { AnswerParams } from '../messages/answer.js';
import { defineHandler } from './handler.js';

export const handleAnswer = defineHandler({
  method: 'answer',
  params: AnswerParams,
  async handle(ctx, params, call) {
    // Who answered is the socket's peer (the params are strict: a client cannot name someone else).
    return publicView(await ctx.engine.answer(params.id, params.text, { ...(params.review ? { review: true } : {}), ...(call.peer ? { by: call.peer } : {}) }));
  },
});
