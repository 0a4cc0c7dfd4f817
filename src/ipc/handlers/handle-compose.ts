/** Handler of `compose`: reads the goal's components from disk, in map order. */
import { JitdError } from '../../fsio/errors.js';
import { nodeFs } from '../../fsio/node-fs.js';
import { compose } from '../../library/compose.js';
import { ComposeParams } from '../messages/compose.js';
import { defineHandler } from './handler.js';

export const handleCompose = defineHandler({
  method: 'compose',
  params: ComposeParams,
  async handle(ctx, params) {
    const map = ctx.engine.mapState.map;
    if (!map) throw new JitdError('ENOMAP', `no usable map yet${ctx.engine.mapState.mapError ? `: ${ctx.engine.mapState.mapError}` : ''}`);
    return compose(nodeFs, ctx.config.componentsDir, map, params.goal);
  },
});
