/**
 * P1 reaction: the map saved editor-style (write a temp, rename it over the map) → the
 * `request.added` event for the new entry, received over the control socket (`subscribe`).
 * Baseline: a bare chokidar process watching the same file, its event line received over a pipe.
 * Also: an in-place write that leaves the map briefly unparsable (the second half lands inside
 * chokidar's 50 ms swallow window) is still caught, after the quiet period (debounceMs).
 */
import * as fsp from 'node:fs/promises';
import {
  QUICK,
  fmt,
  makeLibrary,
  now,
  percentile,
  report,
  rmrf,
  runScript,
  saveByRename,
  sleep,
  startBaseline,
  startDaemon,
  subscribe,
  workDir,
} from './lib.mjs';

const SAVES = QUICK ? 20 : 200;
const IN_PLACE = QUICK ? 2 : 10;
const GAP_MS = 70; // > chokidar's 50 ms swallow window, so the baseline sees every save
const BASE_GOALS = 200;

function mapWith(extra) {
  const map = {};
  for (let g = 0; g < BASE_GOALS; g++) map[`BASE_${g}`] = { protocol: `p${g % 20}.txt` };
  for (const name of extra) map[name] = { protocol: `missing_${name.toLowerCase()}.txt` };
  return `${JSON.stringify(map, null, 2)}\n`;
}

runScript('P1 reaction: editor-style map save -> request.added over subscribe', async () => {
  const root = await workDir('p1');
  try {
    const files = Array.from({ length: 20 }, (_, i) => `protocols/p${i}.txt`);
    const lib = await makeLibrary(root, { map: JSON.parse(mapWith([])), files, config: { debounceMs: 150 } });

    // --- baseline: bare chokidar on the same file -----------------------------------------
    const base = startBaseline('chokidar-watch.mjs', ['--file', lib.mapFile]);
    await base.ready;
    await sleep(200);
    const baseLat = [];
    const names = [];
    for (let i = 0; i < SAVES; i++) {
      names.push(`BASE_SAVE_${i}`);
      const text = mapWith(names);
      let resolveSeen;
      const seen = new Promise((r) => (resolveSeen = r));
      const l = (line) => {
        if (line.endsWith(lib.mapFile)) resolveSeen(now());
      };
      base.onLine(l);
      const t0 = await saveByRename(lib.mapFile, text);
      const t1 = await Promise.race([seen, sleep(2000).then(() => NaN)]);
      base.offLine(l);
      if (Number.isFinite(t1)) baseLat.push(t1 - t0);
      await sleep(GAP_MS);
    }
    await base.stop();
    // Back to the starting map for the daemon run.
    await fsp.writeFile(lib.mapFile, mapWith([]));

    // --- jitd ---------------------------------------------------------------------------
    const d = startDaemon(lib.configFile);
    await d.ready;
    const sub = await subscribe(lib.socketPath, ['request.added']);
    const waiters = new Map();
    sub.onEvent((e, t) => {
      const w = waiters.get(e.request?.goal);
      if (w) w(t);
    });
    const added = (goal, timeoutMs) =>
      Promise.race([new Promise((r) => waiters.set(goal, r)), sleep(timeoutMs).then(() => NaN)]).finally(() => waiters.delete(goal));

    await sleep(200);
    const lat = [];
    let missed = 0;
    const jnames = [];
    for (let i = 0; i < SAVES; i++) {
      const goal = `SAVE_${i}`;
      jnames.push(goal);
      const text = mapWith(jnames);
      const seen = added(goal, 3000);
      const t0 = await saveByRename(lib.mapFile, text);
      const t1 = await seen;
      if (Number.isFinite(t1)) lat.push(t1 - t0);
      else missed++;
      await sleep(GAP_MS);
    }

    // --- in-place writes leaving the map briefly unparsable ----------------------------------
    const caught = [];
    let inPlaceMissed = 0;
    for (let i = 0; i < IN_PLACE; i++) {
      const goal = `INPLACE_${i}`;
      jnames.push(goal);
      const text = mapWith(jnames);
      const cut = Math.floor(text.length / 2);
      const seen = added(goal, 5000);
      const fh = await fsp.open(lib.mapFile, 'r+');
      await fh.truncate(0);
      await fh.write(text.slice(0, cut), 0);
      await sleep(15); // the daemon reads half a map: unparsable
      await fh.write(text.slice(cut), cut);
      await fh.close();
      const t0 = now();
      const t1 = await seen;
      if (Number.isFinite(t1)) caught.push(t1 - t0);
      else inPlaceMissed++;
      await sleep(400);
    }
    sub.close();
    const { code } = await d.stop();

    const p50 = percentile(lat, 50);
    const p99 = percentile(lat, 99);
    const b50 = percentile(baseLat, 50);
    const b99 = percentile(baseLat, 99);
    report({
      figure: 'P1 reaction p50',
      value: p50,
      unit: 'ms',
      baseline: b50,
      baselineLabel: 'bare chokidar p50',
      goal: '<= 10 ms',
      pass: p50 <= 10,
      note: `${lat.length}/${SAVES} saves seen${missed ? `, ${missed} missed` : ''}`,
    });
    report({
      figure: 'P1 reaction p99',
      value: p99,
      unit: 'ms',
      baseline: b99,
      baselineLabel: 'bare chokidar p99',
      goal: '<= 50 ms',
      pass: p99 <= 50 && missed === 0,
    });
    report({
      figure: 'P1 unparsable in-place write caught',
      value: percentile(caught, 50),
      unit: 'ms',
      baseline: 150,
      baselineLabel: 'debounceMs',
      goal: 'caught after the quiet period',
      pass: inPlaceMissed === 0,
      note: `${caught.length}/${IN_PLACE} caught, max ${fmt(Math.max(...caught))} ms after the last byte; daemon exit ${code}`,
    });
  } finally {
    await rmrf(root);
  }
});
