/**
 * P7 one install on a big map: CPU and wall time of one install on a 50,000-goal map (about
 * 4 MB) through the running daemon, watcher included — from `answer` to the `request.installed`
 * event (wall), and the daemon's CPU from `answer` until its watcher has seen its own map write
 * and the engine is idle (`status --sync`), minus its idle CPU over the same time.
 * Floor: reading the map and JSON.parse-ing it once, in this process, in the same run.
 * Goal: <= 3x the floor. Also counted: the daemon's full plans of the map set off by the install
 * (status `mapSyncs`; jitd recognises its own write by content, so the goal is 0).
 */
import { readFileSync } from 'node:fs';
import { QUICK, cpuMs, fmt, makeLibrary, median, now, report, rmrf, runScript, sleep, socketClient, startDaemon, subscribe, workDir } from './lib.mjs';

const GOALS = QUICK ? 10_000 : 50_000;
const INSTALLS = QUICK ? 2 : 5;
const IDLE_MS = QUICK ? 500 : 1500;

/** The map as text: GOALS goals of two entries each, and INSTALLS goals naming a missing persona, spread through it. */
function mapText() {
  const parts = [];
  const every = Math.floor(GOALS / (INSTALLS + 1));
  let targets = 0;
  for (let i = 0; i < GOALS; i++) {
    parts.push(`  "GOAL_${String(i).padStart(6, '0')}": { "protocol": "shared_protocol.txt", "persona": "shared_persona.txt" }`);
    if (i % every === every - 1 && targets < INSTALLS) {
      targets++;
      parts.push(`  "TARGET_${i}": { "protocol": "shared_protocol.txt", "persona": "missing_${i}.txt" }`);
    }
  }
  return `{\n${parts.join(',\n')}\n}\n`;
}

/** CPU ms (user + system) and wall ms of reading and parsing the map once, in this process. */
function floorOnce(file) {
  const c0 = process.cpuUsage();
  const t0 = now();
  const v = JSON.parse(readFileSync(file).toString('utf8'));
  const wall = now() - t0;
  const c = process.cpuUsage(c0);
  if (typeof v !== 'object') throw new Error('map did not parse');
  return { cpu: (c.user + c.system) / 1000, wall };
}

runScript(`P7 one install on a ${GOALS}-goal map through the running daemon`, async () => {
  const root = await workDir('p7');
  try {
    const text = mapText();
    const lib = await makeLibrary(root, {
      mapText: text,
      files: ['protocols/shared_protocol.txt', 'personas/shared_persona.txt'],
      config: { rescanIntervalMs: 0 },
    });
    const floors = Array.from({ length: 7 }, () => floorOnce(lib.mapFile));
    const floorCpu = median(floors.map((f) => f.cpu));
    const floorWall = median(floors.map((f) => f.wall));

    const d = startDaemon(lib.configFile, process.env.P7_NODE_ARGS ? { nodeArgs: process.env.P7_NODE_ARGS.split(' ') } : {});
    await d.ready;
    const c = await socketClient(lib.socketPath);
    const events = await subscribe(lib.socketPath, ['request.installed']);
    await c.request('status', { sync: true });
    const waiting = (await c.request('pending', { states: ['waiting'] })).requests;
    if (waiting.length !== INSTALLS) throw new Error(`expected ${INSTALLS} waiting requests, got ${waiting.length}`);

    const i0 = await cpuMs(d.pid);
    await sleep(IDLE_MS);
    const idlePerMs = ((await cpuMs(d.pid)) - i0) / IDLE_MS;
    // The probe's own cost: a `status --sync` on the idle daemon (it counts the missing entries
    // of the whole map), measured 5 times together and subtracted from each install's CPU.
    const p0 = await cpuMs(d.pid);
    const pt = now();
    for (let i = 0; i < 5; i++) await c.request('status', { sync: true });
    const probeCpu = ((await cpuMs(d.pid)) - p0 - idlePerMs * (now() - pt)) / 5;

    const walls = [];
    const cpus = [];
    let planned = 0;
    let skipped = 0;
    for (const r of waiting) {
      const s0 = (await c.request('status', {})).counts.mapSyncs;
      const installed = new Promise((res) => {
        const l = (e) => {
          if (e.type === 'request.installed' && e.request.id === r.id) {
            events.offEvent(l);
            res(now());
          }
        };
        events.onEvent(l);
      });
      const c0 = await cpuMs(d.pid);
      const t0 = now();
      await c.request('answer', { id: r.id, text: `A persona for ${r.goal}` });
      walls.push((await installed) - t0);
      // The watcher has delivered the event of jitd's own map write and the engine is idle.
      await c.request('status', { sync: true });
      cpus.push((await cpuMs(d.pid)) - c0 - idlePerMs * (now() - t0) - probeCpu);
      const s1 = (await c.request('status', {})).counts.mapSyncs;
      planned += s1.planned - s0.planned;
      skipped += s1.ownWriteSkipped - s0.ownWriteSkipped;
    }
    const after = readFileSync(lib.mapFile, 'utf8');
    const byteExact = after === waiting.reduce((t, r) => t.replace(`"${r.filename}"`, JSON.stringify(r.generatedName)), text);
    c.close();
    events.close();
    await d.stop();

    const wall = median(walls);
    const cpu = median(cpus);
    const note = `${INSTALLS} installs, one at a time, median; map ${fmt(text.length / 2 ** 20, 1)} MiB; full plans set off by the installs ${planned}, own writes recognised ${skipped}; map byte-exact ${byteExact}`;
    report({
      figure: `P7 install wall time (${GOALS}-goal map)`,
      value: wall,
      unit: 'ms',
      baseline: floorWall,
      baselineLabel: 'read + JSON.parse once',
      goal: '<= 3x',
      pass: wall <= 3 * floorWall,
      note,
    });
    report({
      figure: `P7 install CPU (${GOALS}-goal map)`,
      value: Math.max(0, cpu),
      unit: 'ms',
      baseline: floorCpu,
      baselineLabel: 'read + JSON.parse once',
      goal: '<= 3x',
      pass: cpu <= 3 * floorCpu,
      note: `daemon CPU from answer to idle after its own map write is seen, less idle CPU (${fmt(idlePerMs * 1000)} ms/s) and the status probe's (${fmt(probeCpu)} ms); clock ticks of 10 ms`,
    });
    report({
      figure: 'P7 full plans set off by own map writes',
      value: planned,
      unit: '',
      goal: '0',
      pass: planned === 0,
      digits: 0,
      note: `${skipped} own writes recognised by content`,
    });
    if (!byteExact) throw new Error('the map is not the original with only the repointed strings changed');
  } finally {
    await rmrf(root);
  }
});
