/**
 * P5 generation overlap: N answered requests, a provider that takes 200 ms per call → total
 * time from the first generation to the last install, against the ideal N × 200 ms / concurrency
 * (installs are serialized on the lane; they must hide behind the model calls).
 * In-process with the real Engine on the real disk; concurrency 2 and 8.
 */
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { DIST, QUICK, fmt, makeLibrary, now, report, rmrf, runScript, sleep, workDir } from './lib.mjs';

const { Engine } = await import(join(DIST, 'jobs/engine.js'));
const { loadConfig } = await import(join(DIST, 'library/config.js'));
const { nodeFs } = await import(join(DIST, 'fsio/node-fs.js'));

const N = QUICK ? 24 : 100;
const LATENCY_MS = 200;

async function run(concurrency) {
  const root = await workDir(`p5-c${concurrency}`);
  try {
    const map = {};
    for (let i = 0; i < N; i++) map[`GOAL_${String(i).padStart(4, '0')}`] = { protocol: `missing_${i}.txt` };
    const lib = await makeLibrary(root, { map, config: { log: { level: 'silent' }, generation: { concurrency } } });
    const config = await loadConfig(lib.configFile, {});
    let open;
    const gate = new Promise((r) => (open = r));
    let maxInFlight = 0;
    let inFlight = 0;
    const provider = {
      name: 'slow',
      async generate({ description, signal }) {
        await gate;
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        try {
          await sleep(LATENCY_MS);
          signal.throwIfAborted();
          return `${description}\n`;
        } finally {
          inFlight--;
        }
      },
    };
    const engine = new Engine({ fs: nodeFs, config, provider, log: pino({ level: 'silent' }) });
    let installed = 0;
    let allDone;
    const done = new Promise((r) => (allDone = r));
    engine.on('event', (e) => {
      if (e.type === 'request.installed' && ++installed === N) allDone();
    });
    await engine.start();
    for (const r of engine.store.all()) await engine.answer(r.id, `Component for ${r.goal}.`);
    const t0 = now();
    open();
    await done;
    const ms = now() - t0;
    await engine.stop();
    const onDisk = (await fsp.readdir(join(lib.componentsDir, 'protocols'))).length;
    if (onDisk !== N) throw new Error(`${onDisk} components installed, expected ${N}`);
    return { ms, maxInFlight };
  } finally {
    await rmrf(root);
  }
}

runScript(`P5 generation overlap: ${N} answered requests, provider ${LATENCY_MS} ms`, async () => {
  for (const c of [2, 8]) {
    const { ms, maxInFlight } = await run(c);
    const ideal = (N * LATENCY_MS) / c;
    report({
      figure: `P5 total time, concurrency ${c}`,
      value: ms / 1000,
      unit: 's',
      baseline: ideal / 1000,
      baselineLabel: `ideal ${N}x${LATENCY_MS} ms/${c}`,
      goal: '<= 1.3x ideal',
      pass: ms <= 1.3 * ideal,
      note: `max ${maxInFlight} calls in flight; overhead ${fmt((ms - ideal) / N)} ms per request`,
    });
  }
});
