/**
 * Handler of `preview`: builds the request's library context exactly as the generation pool
 * does (Engine.generationContext) and the messages exactly as the openai provider does
 * (messages.ts), and sends them back instead of to a model. Reads only; no state changes.
 */
import { JitdError } from '../../fsio/errors.js';
import { buildMessages, measureMessages } from '../../generation/messages.js';
import { MAX_DESCRIPTION_LENGTH, publicView } from '../../requests/request.js';
import { DESCRIPTION_PLACEHOLDER, PreviewParams, type PreviewResult } from '../messages/preview.js';
import { defineHandler } from './handler.js';
import { findRequest } from './request-lookup.js';

export const handlePreview = defineHandler({
  method: 'preview',
  params: PreviewParams,
  async handle(ctx, params): Promise<PreviewResult> {
    const r = findRequest(ctx, params.id);
    // The same normalisation `answer` applies (request-commands.ts), so a preview with the text
    // about to be answered shows the bytes that will be sent.
    const given = params.description?.replace(/\s+/g, ' ').trim();
    if (given !== undefined && !given) throw new JitdError('EEMPTY', 'the description is empty');
    if (given !== undefined && given.length > MAX_DESCRIPTION_LENGTH) {
      throw new JitdError('ETOOLONG', `the description is over ${MAX_DESCRIPTION_LENGTH} characters`);
    }
    const description = given ?? r.description;
    const context = await ctx.engine.generationContext(r);
    const messages = buildMessages({ goal: r.goal, type: r.type, filename: r.filename, description: description ?? DESCRIPTION_PLACEHOLDER, context });
    const p = ctx.engine.provider as { name: string; model?: unknown; baseURL?: unknown };
    return {
      request: publicView(r),
      provider: {
        name: p.name,
        ...(typeof p.model === 'string' ? { model: p.model } : {}),
        ...(typeof p.baseURL === 'string' ? { baseURL: p.baseURL } : {}),
      },
      descriptionPlaceholder: description === undefined,
      messages,
      ...measureMessages(messages),
      context: {
        budgetBytes: context.budgetBytes,
        usedBytes: context.usedBytes,
        instructions: { common: context.instructions.common.source, type: context.instructions.type.source },
        goalParts: context.goalParts,
        included: [
          ...context.siblings.map((s) => ({ kind: 'sibling' as const, type: s.type, filename: s.filename, bytes: s.bytes })),
          ...context.examples.map((x) => ({
            kind: 'example' as const,
            type: x.type,
            filename: x.filename,
            bytes: x.bytes,
            goals: x.goals,
            overlap: x.overlap,
          })),
        ],
        omitted: context.omitted,
      },
    };
  },
});
