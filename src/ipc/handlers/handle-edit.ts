/** Handler of `edit`: reads the text to edit, or saves a person's text as the newest candidate and the draft. */
import { publicView } from '../../requests/request.js';
import { EditParams, type EditResult } from '../messages/edit.js';
import { defineHandler } from './handler.js';

export const handleEdit = defineHandler({
  method: 'edit',
  params: EditParams,
  async handle(ctx, params, call): Promise<EditResult> {
    if (params.text === undefined) {
      const t = await ctx.engine.editableText(params.id);
      return { request: publicView(t.request), text: t.text, source: t.source, ...(t.candidate !== undefined ? { candidate: t.candidate } : {}) };
    }
    const saved = await ctx.engine.edit(params.id, params.text, call.peer);
    return { request: publicView(saved.request), candidate: saved.candidate };
  },
});
