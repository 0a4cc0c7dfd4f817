#!/usr/bin/env node
/**
 * Random-kill soak (issue 7, item 3): N installs with K SIGKILLs of the real jitd at random
 * moments (restarted after each), while a "person" answers through `jitctl answer` throughout,
 * retries every answer whose acknowledgement it did not receive (after the restart), and now and
 * then adds a goal to the map with an editor-style save. Afterwards:
 *
 *  - every acknowledged answer is installed exactly once: the map names the generated file, the
 *    file holds the description (the template provider embeds it) once, no second copy exists
 *    (in components or quarantine);
 *  - nobody was asked twice: an acknowledged request never reappears as `waiting`;
 *  - no `.jitd-tmp.*` file anywhere in the library, no unreferenced `autogen_*` component;
 *  - the map parses and holds every entry the person added.
 *
 * `runSoak()` is shared with test/hardening/kill-soak.test.ts (small size, under a minute);
 * run this file for the larger size:
 *
 *   npm run build && node bench/soak-kill.mjs [--installs 300] [--kills 40] [--seed N] [--keep] [--racy-edits] [--json FILE]
 *
 * `--racy-edits` lets the person save while installs commit (by default it saves while jitd has
 * no install in hand): that exposes the lost-save race of src/install/map-commit.ts.
 *
 * It prints the figures (installs, kills survived, answers retried, duration) and exits 1 if
 * any invariant was violated.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile, lstat } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const JITD = join(ROOT, 'dist', 'bin', 'jitd.js');
const JITCTL = join(ROOT, 'dist', 'bin', 'jitctl.js');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** mulberry32: a small seeded PRNG, so a run's choices can be replayed (timing cannot). */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The generated name of a canonical goal (see src/library/names.ts). */
const generatedName = (goal, type) => `autogen_${type}_for_${goal.toLowerCase()}.txt`;
const goalName = (i) => `SOAK_${String(i).padStart(4, '0')}`;
const addedName = (i) => `ADDED_${String(i).padStart(4, '0')}`;
const descriptionOf = (goal) => `Soak description for ${goal}: check every step twice`;

async function makeLibrary(installs, added) {
  const root = await mkdtemp(join(tmpdir(), 'jsoak-'));
  const configDir = join(root, 'config');
  await mkdir(configDir, { recursive: true });
  await mkdir(join(root, 'components', 'protocols'), { recursive: true });
  await mkdir(join(root, 'components', 'personas'), { recursive: true });
  await writeFile(join(root, 'components', 'personas', 'sre.txt'), 'You are an SRE.\n');
  await writeFile(join(root, 'components', 'protocols', 'review.txt'), 'Review it.\n');
  const map = { REVIEW: { protocol: 'review.txt', persona: 'sre.txt' } };
  for (let i = 0; i < installs - added; i++) map[goalName(i)] = { protocol: `soak_${i}.txt`, persona: 'sre.txt' };
  const mapFile = join(configDir, 'goal_map.json');
  await writeFile(mapFile, `${JSON.stringify(map, null, 2)}\n`);
  const configFile = join(configDir, 'jitd.json');
  await writeFile(configFile, JSON.stringify({ debounceMs: 50, rescanIntervalMs: 0, socketPath: '../.jitd/ctl.sock', log: { level: 'info' } }, null, 2));
  return { root, configFile, mapFile, componentsDir: join(root, 'components'), stateDir: join(root, '.jitd'), socketPath: join(root, '.jitd', 'ctl.sock') };
}

function canConnect(path) {
  return new Promise((res) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('error', () => res(false));
  });
}

/** Starts jitd; resolves once it is ready (log line + socket), or throws if it exits first. */
async function startDaemon(lib, tail, figures) {
  const child = spawn(process.execPath, [JITD, '--config', lib.configFile], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let ready = false;
  let buf = '';
  const keep = (line) => {
    tail.push(line);
    if (tail.length > 200) tail.splice(0, tail.length - 200);
  };
  child.stdout.on('data', (d) => {
    buf += d.toString('utf8');
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) {
      if (l.includes('"jitd ready"')) ready = true;
      if (figures && l.includes('"msg":"reconciled"') && l.includes('"reason":"startup"')) {
        try {
          const rec = JSON.parse(l);
          figures.startupTempsRemoved += rec.tempsRemoved ?? 0;
          figures.startupRolledForward += rec.rolledForward ?? 0;
        } catch {
          // not ours to judge here
        }
      }
      if (l) keep(l);
    }
  });
  child.stderr.on('data', (d) => keep(`stderr: ${d.toString('utf8').trim()}`));
  const exit = new Promise((res) => child.once('exit', (code, signal) => res({ code, signal })));
  let exited;
  void exit.then((e) => (exited = e));
  const deadline = Date.now() + 60_000;
  while (!exited && Date.now() < deadline) {
    if (ready && (await canConnect(lib.socketPath))) return { child, exit };
    await sleep(20);
  }
  throw new Error(`jitd did not become ready (${exited ? `exited ${JSON.stringify(exited)}` : 'timeout'})\n${tail.slice(-20).join('\n')}`);
}

function jitctl(lib, args) {
  return new Promise((res) => {
    const child = spawn(process.execPath, [JITCTL, '--socket', lib.socketPath, ...args], {
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => res({ code, stdout, stderr }));
  });
}

async function listFiles(dir) {
  const out = [];
  const walk = async (d) => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(relative(dir, p));
    }
  };
  await walk(dir);
  return out;
}

/**
 * Runs one soak. Options: `installs` (goals missing a component, including those the person adds),
 * `kills`, `added` (goals the person adds during the run), `seed`, `killEveryMs` [min, max],
 * `timeoutMs`, `keep` (leave the library on disk), `racyEdits` (person saves race installs),
 * `log` (progress lines).
 * Answers `{ figures, violations, root }`.
 */
export async function runSoak(opts = {}) {
  const installs = opts.installs ?? 30;
  const kills = opts.kills ?? 8;
  const added = Math.min(opts.added ?? Math.max(1, Math.round(installs / 10)), installs);
  const seed = opts.seed ?? Date.now() % 1_000_000;
  const [killMin, killMax] = opts.killEveryMs ?? [150, 1200];
  const timeoutMs = opts.timeoutMs ?? 600_000;
  const log = opts.log ?? (() => undefined);
  const random = prng(seed);
  const t0 = Date.now();
  const lib = await makeLibrary(installs, added);
  const tail = [];
  const violations = [];
  const violation = (what) => {
    if (violations.length < 50) violations.push(what);
  };

  /** id -> {goal, description}: answers acknowledged by jitctl (exit 0). */
  const acked = new Map();
  /** id -> {goal, description}: answers sent whose acknowledgement was lost; retried. */
  const unacked = new Map();
  const addedGoals = [];
  const figures = {
    installs,
    kills: 0,
    restarts: 0,
    answersSent: 0,
    answersAcked: 0,
    ackLost: 0,
    retried: 0,
    foundRecordedOnRetry: 0,
    personEdits: 0,
    pendingPolls: 0,
    startupTempsRemoved: 0,
    startupRolledForward: 0,
    seed,
  };

  let daemon = await startDaemon(lib, tail, figures);
  let killing = true;
  let restarting = Promise.resolve();

  // The killer: SIGKILL at random moments, restart at once after each. Kill k waits until about
  // k/(kills+1) of the answers are acknowledged, then a random delay: the kills are spread over
  // the whole run, landing while answers, generations, installs and restarts are in flight.
  const killer = (async () => {
    for (let k = 0; k < kills; k++) {
      const due = Math.floor(((k + 1) * installs) / (kills + 1)) - 1;
      while (acked.size + unacked.size < due && Date.now() < t0 + timeoutMs) await sleep(20);
      await sleep(killMin + random() * (killMax - killMin));
      const d = daemon;
      let release;
      restarting = new Promise((r) => (release = r));
      d.child.kill('SIGKILL');
      const e = await d.exit;
      if (e.signal !== 'SIGKILL') violation(`kill ${k}: jitd had already exited ${JSON.stringify(e)}`);
      figures.kills++;
      try {
        daemon = await startDaemon(lib, tail, figures);
        figures.restarts++;
      } catch (err) {
        violation(`restart after kill ${k} failed: ${err.message}`);
        release();
        throw err;
      }
      release();
      log(`kill ${k + 1}/${kills} survived (${acked.size} acked so far)`);
    }
    killing = false;
  })();

  /** One answer through jitctl; classifies the outcome. */
  const answer = async (id, goal) => {
    const description = descriptionOf(goal);
    figures.answersSent++;
    const r = await jitctl(lib, ['answer', id, description]);
    if (r.code === 0) {
      acked.set(id, { goal, description });
      unacked.delete(id);
      figures.answersAcked++;
      return;
    }
    if (r.code === 1 && /ESTATE|is (answered|generating|installing|done|failed)/.test(r.stderr)) {
      // A retry found the earlier answer recorded: it was durable, only its ack was lost.
      if (unacked.has(id)) {
        figures.foundRecordedOnRetry++;
        acked.set(id, { goal, description });
        unacked.delete(id);
        return;
      }
      violation(`answer ${id} (${goal}) refused as not waiting although never answered: ${r.stderr.trim()}`);
      return;
    }
    if (r.code === 3) {
      // Daemon killed under us (unreachable, or the connection dropped): ack not received.
      if (!unacked.has(id)) figures.ackLost++;
      unacked.set(id, { goal, description });
      return;
    }
    violation(`jitctl answer ${id} exited ${r.code}: ${r.stderr.trim()}`);
  };

  /** True once jitd has nothing answered left to install (so no map write of its own is due). */
  const idle = async () => {
    const st = await jitctl(lib, ['status', '--json', '--sync']);
    if (st.code !== 0) return false;
    const { requests, queue } = JSON.parse(st.stdout).counts;
    return requests.answered + requests.generating + requests.installing === 0 && queue.readyToInstall === 0 && queue.parked === 0;
  };

  /**
   * An editor-style save adding one goal (read, modify, write temp, rename). Unless `racyEdits`,
   * the person saves while jitd has no install in hand: a save racing jitd's own map write can
   * be lost (a known bug, proven by test/hardening/person-edits.test.ts); the soak is about kills.
   */
  const addGoal = async () => {
    if (!opts.racyEdits) {
      for (let i = 0; i < 100 && !(await idle()); i++) await sleep(50);
      await restarting;
    }
    const goal = addedName(addedGoals.length);
    for (let attempt = 0; attempt < 20; attempt++) {
      let map;
      try {
        map = JSON.parse(await readFile(lib.mapFile, 'utf8'));
      } catch (err) {
        violation(`the map did not parse during the soak: ${err.message}`);
        return;
      }
      map[goal] = { protocol: `${goal.toLowerCase()}_wanted.txt`, persona: 'sre.txt' };
      const tmp = join(dirname(lib.mapFile), `.goal_map.json.${process.pid}.swp`);
      await writeFile(tmp, `${JSON.stringify(map, null, 2)}\n`);
      await rename(tmp, lib.mapFile);
      addedGoals.push(goal);
      figures.personEdits++;
      return;
    }
  };

  const allGoals = () => installs - added + addedGoals.length;
  const deadline = t0 + timeoutMs;
  let nextAddAt = Math.max(1, Math.floor((installs - added) / (added + 1)));
  try {
    for (;;) {
      if (Date.now() > deadline) {
        violation(`timed out: ${acked.size}/${installs} acked, ${unacked.size} unacked`);
        break;
      }
      await restarting;
      // Retry lost acks first (after the restart that lost them).
      for (const [id, { goal }] of [...unacked]) {
        figures.retried++;
        await answer(id, goal);
      }
      if (addedGoals.length < added && acked.size >= nextAddAt) {
        await addGoal();
        nextAddAt += Math.max(1, Math.floor((installs - added) / (added + 1)));
      }
      const p = await jitctl(lib, ['pending', '--json']);
      figures.pendingPolls++;
      if (p.code !== 0) {
        await sleep(50);
        continue;
      }
      let waiting;
      try {
        waiting = JSON.parse(p.stdout);
      } catch {
        violation(`pending --json printed something that is not JSON: ${p.stdout.slice(0, 200)}`);
        continue;
      }
      for (const r of waiting) {
        if (acked.has(r.id)) violation(`asked twice: ${r.id} (${r.goal}) is waiting again after its answer was acknowledged`);
      }
      const fresh = waiting.filter((r) => !acked.has(r.id) && !unacked.has(r.id));
      if (fresh.length) {
        // Answer a few at once, so installs commit together and kills land mid-batch too.
        const burst = fresh.slice(0, 1 + Math.floor(random() * 4));
        await Promise.all(burst.map((r) => answer(r.id, r.goal)));
        continue;
      }
      if (!killing && addedGoals.length >= added && unacked.size === 0) {
        // Nothing left to answer: wait for the daemon to finish installing. (A goal the person
        // added but jitd's map write lost never gets a request; the final checks report it.)
        const st = await jitctl(lib, ['status', '--json', '--sync']);
        if (st.code === 0) {
          const { requests, queue } = JSON.parse(st.stdout).counts;
          const open = requests.waiting + requests.answered + requests.generating + requests.installing + requests.failed;
          if (requests.failed) violation(`${requests.failed} request(s) failed: ${JSON.stringify(requests)}`);
          if (open === 0 && queue.parked === 0 && queue.readyToInstall === 0) break;
          if (requests.failed) break;
        }
      }
      await sleep(100);
    }
    await killer;
  } catch (err) {
    violation(`soak aborted: ${err.stack ?? err}`);
  }

  // A final graceful stop and a fresh start: its reconcile must find nothing to repair.
  const stopped = (daemon.child.kill('SIGTERM'), await daemon.exit);
  if (stopped.code !== 0) violation(`SIGTERM: jitd exited ${JSON.stringify(stopped)}`);
  daemon = await startDaemon(lib, tail);
  const recon = await jitctl(lib, ['status', '--json', '--sync']);
  daemon.child.kill('SIGTERM');
  await daemon.exit;
  const last = recon.code === 0 ? JSON.parse(recon.stdout).lastReconcile : undefined;
  figures.finalReconcile = last ? { tempsRemoved: last.tempsRemoved, rolledForward: last.rolledForward, quarantined: last.orphans?.quarantined } : undefined;

  // --- the invariants, on disk ---
  let map;
  try {
    map = JSON.parse(await readFile(lib.mapFile, 'utf8'));
  } catch (err) {
    violation(`the final map does not parse: ${err.message}`);
    map = {};
  }
  const files = await listFiles(lib.root);
  const temps = files.filter((f) => f.split('/').some((s) => s.startsWith('.jitd-tmp.')));
  if (temps.length) violation(`temp files left: ${temps.slice(0, 5).join(', ')}`);
  const protocols = new Set((await readdir(join(lib.componentsDir, 'protocols'))).filter((n) => !n.startsWith('.')));
  const referenced = new Set(Object.values(map).flatMap((v) => (v && typeof v === 'object' ? Object.values(v) : [])));
  const orphans = [...protocols].filter((n) => n.startsWith('autogen_') && !referenced.has(n));
  if (orphans.length) violation(`unreferenced generated components: ${orphans.slice(0, 5).join(', ')}`);
  const quarantined = files.filter((f) => f.startsWith('.jitd/quarantine/components/') && !f.endsWith('.origin.json'));
  figures.quarantined = quarantined.length;
  let installed = 0;
  for (const [id, { goal, description }] of acked) {
    const g = generatedName(goal, 'protocol');
    if (map[goal]?.protocol !== g) {
      violation(`acknowledged answer ${id} (${goal}) not installed: map says ${JSON.stringify(map[goal])}`);
      continue;
    }
    let text = '';
    try {
      text = await readFile(join(lib.componentsDir, 'protocols', g), 'utf8');
    } catch (err) {
      violation(`${goal}: the map names ${g} but it cannot be read: ${err.code}`);
      continue;
    }
    const times = text.split(description).length - 1;
    if (times !== 1) violation(`${goal}: the description appears ${times} times in ${g}`);
    if (quarantined.some((q) => q.includes(g))) violation(`${goal}: a second copy of ${g} went to quarantine (installed twice)`);
    const copies = [...protocols].filter((n) => n.startsWith(g.replace(/\.txt$/, '')));
    if (copies.length !== 1) violation(`${goal}: ${copies.length} generated files ${copies.join(', ')}`);
    installed++;
  }
  figures.installed = installed;
  if (acked.size !== allGoals()) violation(`${acked.size} answers acknowledged of ${allGoals()} goals`);
  for (const goal of addedGoals) if (!map[goal]) violation(`the person's added goal ${goal} is missing from the map`);
  if (map.REVIEW?.protocol !== 'review.txt') violation(`the REVIEW entry changed: ${JSON.stringify(map.REVIEW)}`);
  figures.addedGoals = addedGoals.length;
  figures.durationMs = Date.now() - t0;
  if (violations.length) violations.push(`daemon log tail:\n${tail.slice(-15).join('\n')}`);
  if (!opts.keep) await rm(lib.root, { recursive: true, force: true });
  return { figures, violations, root: lib.root };
}

// --- the bench entry point ---
const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? Number(process.argv[i + 1]) : dflt;
  };
  try {
    await lstat(JITD);
  } catch {
    console.error('soak-kill: dist/ is missing; run `npm run build` first');
    process.exit(2);
  }
  const installs = arg('installs', 300);
  const racyEdits = process.argv.includes('--racy-edits');
  const kills = arg('kills', 40);
  const seed = arg('seed', Date.now() % 1_000_000);
  console.log(`soak-kill: ${installs} installs, ${kills} SIGKILLs, seed ${seed}${racyEdits ? ', person saves racing installs' : ''}`);
  const { figures, violations, root } = await runSoak({
    installs,
    kills,
    seed,
    added: arg('added', Math.round(installs / 10)),
    killEveryMs: [arg('kill-min', 0), arg('kill-max', 700)],
    keep: process.argv.includes('--keep'),
    racyEdits,
    log: (line) => console.log(`  ${line}`),
  });
  console.log(`installs: ${figures.installed}/${figures.installs} acknowledged answers installed exactly once`);
  console.log(`kills survived: ${figures.kills} (restarts ${figures.restarts})`);
  console.log(
    `answers: ${figures.answersSent} sent, ${figures.answersAcked} acknowledged, ${figures.ackLost} acks lost to a kill, ${figures.retried} retried, ${figures.foundRecordedOnRetry} found already recorded on retry`,
  );
  console.log(`person edits: ${figures.personEdits} goals added by editor-style saves, all kept: ${violations.every((v) => !v.includes('added goal'))}`);
  console.log(`repairs at restarts: ${figures.startupTempsRemoved} temps removed, ${figures.startupRolledForward} installs rolled forward`);
  console.log(`quarantined: ${figures.quarantined}; final reconcile: ${JSON.stringify(figures.finalReconcile)}`);
  console.log(`duration: ${(figures.durationMs / 1000).toFixed(1)} s`);
  const jsonAt = process.argv.indexOf('--json');
  if (jsonAt >= 0 && process.argv[jsonAt + 1]) {
    // One row in the shape of lib.mjs report(), for bench/run-all.mjs.
    const row = {
      figure: 'Soak: random SIGKILLs, acknowledged answers installed once',
      value: figures.installed,
      unit: 'installs',
      digits: 0,
      baseline: figures.installs,
      baselineLabel: 'acknowledged answers expected',
      goal: 'all installed once, no invariant violated',
      pass: violations.length === 0 && figures.installed === figures.installs,
      note: `${figures.kills} SIGKILLs survived (seed ${figures.seed}); ${figures.ackLost} acks lost to a kill, ${figures.retried} retried, ${figures.foundRecordedOnRetry} found recorded; ${figures.personEdits} person edits kept; ${figures.startupRolledForward} rolled forward at restarts; ${(figures.durationMs / 1000).toFixed(1)} s${violations.length ? `; ${violations.length} violations, first: ${violations[0].split('\n')[0].slice(0, 160)}` : ''}`,
    };
    await writeFile(process.argv[jsonAt + 1], JSON.stringify({ rows: [row], figures, violations }, null, 2));
  }
  if (violations.length) {
    console.log(`\nVIOLATIONS (${violations.length}):\n${violations.join('\n')}`);
    if (process.argv.includes('--keep')) console.log(`library kept at ${root}`);
    process.exit(1);
  }
  console.log('no invariant violated');
}
