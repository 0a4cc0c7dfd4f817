/**
 * The map parse on its own: a generated 50,000-goal map (two types each) parsed by this build's
 * parseGoalMap, and by another build's if given (a checkout's dist/, to compare), median of 12.
 *
 *   node bench/tools/parse-map.mjs [OTHER_DIST_DIR]
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BENCH_DIR } from '../lib.mjs';

const map = {};
for (let g = 0; g < 50_000; g++) map[`GOAL_${g}`] = { protocol: `p_${g}.txt`, persona: `q_${g}.txt` };
const text = JSON.stringify(map, null, 2);
const load = async (dist) => (await import(pathToFileURL(join(dist, 'library', 'goal-map.js')).href)).parseGoalMap;
const median = (f) => {
  const xs = [];
  for (let i = 0; i < 12; i++) {
    const s = performance.now();
    f(text);
    xs.push(performance.now() - s);
  }
  return xs.sort((a, b) => a - b)[6].toFixed(1);
};
const builds = [['this build', await load(join(BENCH_DIR, '..', 'dist'))]];
if (process.argv[2]) builds.push([process.argv[2], await load(process.argv[2])]);
for (let round = 0; round < 2; round++) {
  console.log([...builds.map(([name, f]) => `${name} ${median(f)} ms`), `JSON.parse alone ${median(JSON.parse)} ms`].join('; '));
}
