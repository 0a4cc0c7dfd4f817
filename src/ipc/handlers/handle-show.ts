/**
 * Handler of `show`: a request's record, its text, its provenance (who answered, what wrote the
 * installed component) and its candidates' provenance. Reads only;
 * the text is read the way `jitctl edit` reads it (Engine.editableText: a draft's candidate, or
 * a generated component's installed file), and a person's own file straight from the library.
 */
import { readFile } from 'node:fs/promises';
import { nodeFs } from '../../fsio/node-fs.js';
import { componentPath, escapesRoot } from '../../library/paths.js';
import type { Request } from '../../requests/request.js';
import { isInstalledGenerated } from '../../requests/transitions.js';
import { ShowParams, type ShowCandidate, type ShowResult } from '../messages/show.js';
import type { DaemonContext } from '../context.js';
import { defineHandler } from './handler.js';
import { findRequest, historyView } from './request-lookup.js';

async function textOf(ctx: DaemonContext, r: Request): Promise<Pick<ShowResult, 'text' | 'textError'>> {
  const path = componentPath(ctx.config.componentsDir, r.type, r.resolution === 'person' ? r.filename : r.generatedName);
  try {
    if ((r.state === 'draft' && r.candidate !== undefined) || isInstalledGenerated(r)) {
      const t = await ctx.engine.editableText(r.id);
      return {
        text: {
          source: t.source,
          ...(t.candidate !== undefined ? { candidate: t.candidate } : {}),
          ...(t.source === 'installed' ? { path } : {}),
          content: t.text,
        },
      };
    }
    if (r.state === 'done' && r.resolution === 'person') {
      // A person's file may be a symlink: `show` never reads one that resolves out of the library.
      const escapes = await escapesRoot(nodeFs, ctx.config.componentsDir, path);
      if (escapes) return { textError: `not shown: ${escapes}` };
      return { text: { source: 'installed', path, content: await readFile(path, 'utf8') } };
    }
  } catch (err) {
    return { textError: err instanceof Error ? err.message : String(err) };
  }
  return {};
}

export const handleShow = defineHandler({
  method: 'show',
  params: ShowParams,
  async handle(ctx, params): Promise<ShowResult> {
    const r = findRequest(ctx, params.id);
    const { candidates } = ctx.engine;
    const list: ShowCandidate[] = [];
    for (const n of await candidates.list(r.id)) {
      const p = await candidates.provenance(r.id, n);
      if (!p) {
        list.push({ candidate: n });
        continue;
      }
      const { request: _r, candidate: _c, ...provenance } = p;
      list.push({ candidate: n, provenance: { ...provenance, source: p.source ?? 'model' } });
    }
    const provenance: ShowResult['provenance'] = {
      ...(r.answeredBy ? { answeredBy: r.answeredBy } : {}),
      ...(r.installed && r.state !== 'waiting' ? { installed: r.installed } : {}),
    };
    return { request: historyView(r), ...(await textOf(ctx, r)), candidates: list, provenance };
  },
});
