/** `jitctl edit ID`: edit a draft (or a done component's text) in `$VISUAL`/`$EDITOR`; the saved text becomes the draft. */
import type { Command } from '../command.js';
import { EXIT } from '../errors.js';
import { EditAborted, editInEditor } from '../edit-text.js';
import { safeJson, showName } from '../safe-text.js';

export const editCommand: Command = {
  name: 'edit',
  usage: 'edit ID',
  summary: "edit a draft, or a generated component's text, in $VISUAL/$EDITOR; the saved text becomes the draft",
  details: [
    'The editor is $VISUAL, else $EDITOR, else vi, run on a temp file as `git commit` does.',
    'An empty or unchanged file saves nothing. The saved text is a new candidate and the draft: approve it with `jitctl approve ID`.',
  ],
  options: {},
  args: [1, 1],
  async run(ctx, [id]) {
    const client = await ctx.connect();
    try {
      const saved = await editInEditor(client, id as string, ctx.io.env);
      ctx.out(
        ctx.json
          ? `${safeJson(saved)}\n`
          : `${ctx.style.green('edited')} ${showName(saved.request.id)}: candidate ${saved.candidate} is the draft (jitctl approve ${showName(saved.request.id)})\n`,
      );
      return EXIT.OK;
    } catch (err) {
      if (!(err instanceof EditAborted)) throw err;
      ctx.warn(err.message);
      return EXIT.FAILED;
    }
  },
};
