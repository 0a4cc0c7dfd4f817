/**
 * P7 cost of the library context: wall time of building one generation's context
 * (`gatherContext`: rank every same-type file by name, stat and read the few looked at, load
 * the instructions) in a type directory of 20,000 components named by a map of 20,000 goals.
 * Baseline: `compose` of the same goal (reading its components), the cheapest read of the
 * library a generation could make. Runs in process on the built dist/, real files.
 *
 *   npm run build && node bench/p7-context.mjs [--quick]
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QUICK, makeLibrary, median, report, rmrf, runScript, workDir, now } from './lib.mjs';
import { nodeFs } from '../dist/fsio/node-fs.js';
import { gatherContext } from '../dist/generation/context.js';
import { compose } from '../dist/library/compose.js';
import { parseGoalMap } from '../dist/library/goal-map.js';
import { scanComponents } from '../dist/library/component-index.js';

const FILES = QUICK ? 2_000 : 20_000;
const RUNS = QUICK ? 10 : 30;

runScript(`P7 library context of one generation in a directory of ${FILES} components`, async () => {
  const root = await workDir('p7');
  try {
    const pad = (i) => String(i).padStart(5, '0');
    const files = Array.from({ length: FILES }, (_, i) => `protocols/check_${pad(i)}_procedure.txt`);
    files.push('personas/sre.txt');
    const map = { DIAGNOSE_ROOT_CAUSE: { persona: 'sre.txt', protocol: 'root_cause_drilldown.txt' } };
    for (let i = 0; i < FILES; i++) map[`CHECK_${pad(i)}`] = { protocol: `check_${pad(i)}_procedure.txt` };
    const lib = await makeLibrary(root, { map, files });
    const componentsDir = join(root, 'components');
    const parsed = parseGoalMap(await readFile(join(root, 'config', 'goal_map.json'), 'utf8'));
    const { index } = await scanComponents(nodeFs, componentsDir);
    const src = { fs: nodeFs, componentsDir, promptsDir: join(root, 'config', 'prompts'), contextBytes: 32_768, map: parsed, index };
    const target = { goal: 'DIAGNOSE_ROOT_CAUSE', type: 'protocol', filename: 'root_cause_drilldown.txt' };
    const ctxTimes = [];
    const baseTimes = [];
    let examples = 0;
    for (let r = 0; r < RUNS; r++) {
      let t = now();
      const ctx = await gatherContext(src, target);
      ctxTimes.push(now() - t);
      examples = ctx.examples.length;
      t = now();
      await compose(nodeFs, componentsDir, parsed, 'DIAGNOSE_ROOT_CAUSE');
      baseTimes.push(now() - t);
    }
    void lib;
    report({
      figure: `P7 context of one generation (${FILES} same-type files, ${examples} examples)`,
      value: median(ctxTimes),
      unit: 'ms',
      baseline: median(baseTimes),
      baselineLabel: 'compose of the goal',
      note: `median of ${RUNS}`,
    });
  } finally {
    await rmrf(root);
  }
});
