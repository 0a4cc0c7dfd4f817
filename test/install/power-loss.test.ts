/**
 * Power-loss simulation (contract §4, invariants 1-5): a whole install runs on the in-memory file
 * system that loses whatever was not fsynced; after every single operation of the run, many
 * seeded crash images are built (everything durable plus a random subset of what was not, per
 * directory independently, un-synced data old/new/truncated/garbage), and on each one a fresh
 * start-up (request store load + reconcile), then the rest of the flow, must restore and keep
 * every invariant.
 */
import { describe, expect, it } from 'vitest';
import type { FsLayer } from '../../src/fsio/fs-layer.js';
import { reconcile } from '../../src/reconcile/reconcile.js';
import { RequestStore } from '../../src/requests/request-store.js';
import { requestId } from '../../src/requests/request.js';
import {
  ANSWER,
  COMPONENTS,
  GENERATED_PATH,
  GOAL,
  MAP_FILE,
  MISSING,
  STATE,
  TYPE,
  countingProvider,
  engineOn,
  ORIGINAL_MAP,
  ORIGINAL_MAP_TEXT,
  expectedContent,
  leftovers,
  makeMemLibrary,
  mapNamesGenerated,
  mapViolations,
  runToDone,
  type MemFs,
} from './mem-library.js';
import { MemFs as MemFsClass } from '../support/mem-fs.js';

const STATES_PER_POINT = 40;
const CONTENT = expectedContent(ANSWER);
const ID = requestId(GOAL, TYPE, MISSING);

interface RunMarks {
  /** Log length when the answer was acknowledged (its durable put returned). */
  ackAt: number;
  /** Log length once the generated component's directory was fsynced after its link. */
  publishedAt: number;
  /** The map's publish: log indices of its temp's create and of its exchange. */
  mapTempAt: number;
  exchangeAt: number;
  /** Log length when the map directory's fsync after the exchange returned (jitd holds the map write durable). */
  mapDurableAt: number;
}

/** Runs the whole flow once on `fs` (through `layer`, which may wrap it) and records marks. */
async function recordRun(fs: MemFs, layer: FsLayer = fs): Promise<RunMarks> {
  const provider = countingProvider();
  let ackAt = -1;
  let mapDurableAt = Number.POSITIVE_INFINITY;
  const mapDir = MAP_FILE.slice(0, MAP_FILE.lastIndexOf('/'));
  // Where jitd believes the map write durable: its directory fsync after the exchange returned
  // (also when a negative control's layer skipped the fsync).
  const noting: FsLayer = Object.create(layer, {
    syncDir: {
      value: async (p: string) => {
        await layer.syncDir(p);
        if (p === mapDir && mapDurableAt === Number.POSITIVE_INFINITY && fs.log.some((o) => o.t === 'exchange' && o.path === MAP_FILE))
          mapDurableAt = fs.log.length;
      },
    },
  });
  for (const k of [
    'createExclusive',
    'readFile',
    'readRegularFile',
    'rename',
    'renameIfUnchanged',
    'link',
    'unlink',
    'mkdirp',
    'readdir',
    'lstat',
    'realpath',
  ] as const) {
    Object.defineProperty(noting, k, { value: (layer[k] as (...a: unknown[]) => unknown).bind(layer) });
  }
  const { asked } = await runToDone(noting, provider, { afterAnswer: () => (ackAt = fs.log.length) });
  expect(asked).toBe(1);
  expect(provider.calls).toBe(1);
  expect(mapNamesGenerated(fs)).toBe(true);
  expect(fs.read(GENERATED_PATH)).toBe(CONTENT);
  const linkAt = fs.log.findIndex((op) => op.t === 'link' && op.path === GENERATED_PATH);
  expect(linkAt).toBeGreaterThan(ackAt);
  const syncAt = fs.log.findIndex((op, i) => i > linkAt && op.t === 'syncdir' && op.path === `${COMPONENTS}/personas`);
  // The map is published by the exchange, as in production, never by a plain rename.
  const exchangeAt = fs.log.findIndex((op) => op.t === 'exchange' && op.path === MAP_FILE);
  expect(exchangeAt).toBeGreaterThan(linkAt);
  expect(fs.log.some((op) => op.t === 'rename' && op.path === MAP_FILE)).toBe(false);
  const mapTempAt = fs.log.findLastIndex((op, i) => i < exchangeAt && op.t === 'create' && op.path.includes('.jitd-tmp.goal_map.json'));
  expect(mapTempAt).toBeGreaterThan(linkAt);
  expect(fs.keptOpen).toBe(0);
  return { ackAt, publishedAt: syncAt < 0 ? Number.POSITIVE_INFINITY : syncAt + 1, mapTempAt, exchangeAt, mapDurableAt };
}

/** Recovers one crash image and answers every invariant it breaks (empty: none). */
async function violationsOf(image: MemFs, k: number, marks: RunMarks): Promise<string[]> {
  const v: string[] = [];
  // Invariant 1 holds in the raw image already: a power cut never leaves a dangling pointer.
  v.push(...mapViolations(image, CONTENT).map((m) => `image: ${m}`));
  // Invariant 5: a map write jitd holds durable (the exchange's directory fsync returned) survives.
  if (k >= marks.mapDurableAt && !mapNamesGenerated(image)) v.push('invariant 5: the map write was acknowledged durable, and the power cut lost it');

  const store = new RequestStore(image, STATE);
  const loaded = await store.load();
  if (loaded.quarantined.length) v.push(`request record torn: ${loaded.quarantined.join(', ')}`);
  const { report } = await reconcile({ fs: image, mapFile: MAP_FILE, componentsDir: COMPONENTS, stateDir: STATE, orphans: 'quarantine', store });
  if (report.mapError) v.push(`reconcile: map error ${report.mapError}`);
  v.push(...mapViolations(image, CONTENT).map((m) => `after reconcile: ${m}`));
  v.push(...leftovers(image).map((m) => `after reconcile: ${m}`));
  const generatedThere = mapNamesGenerated(image);

  if (k >= marks.ackAt && !generatedThere) {
    const r = store.get(ID);
    if (!r || r.description !== ANSWER || r.state === 'waiting') v.push(`invariant 3: acknowledged answer lost (request ${r?.state ?? 'missing'})`);
    else if (!report.toGenerate.some((x) => x.id === ID)) v.push('invariant 3: answered request not scheduled for generation');
  }
  if (k >= marks.publishedAt) {
    if (!generatedThere) v.push('invariant 1/2: published component not adopted by the map');
    if (report.toGenerate.length) v.push('invariant 3: a published component would be generated (paid for) again');
  }

  // Convergence: the rest of the flow ends in the new state, asking nobody twice.
  const provider = countingProvider();
  const { asked } = await runToDone(image, provider);
  if (k >= marks.ackAt && asked) v.push('invariant 3: the person was asked again after an acknowledged answer');
  if (k >= marks.publishedAt && provider.calls) v.push('invariant 3: the model was called again after the component was published');
  if (provider.calls > 1) v.push(`model called ${provider.calls} times in recovery`);
  if (!mapNamesGenerated(image) || image.read(GENERATED_PATH) !== CONTENT) v.push('did not converge to the installed state');
  v.push(...leftovers(image).map((m) => `after recovery: ${m}`));
  return v;
}

async function explore(fs: MemFs, marks: RunMarks, seedBase: number) {
  let states = 0;
  /** States after an operation of the map's exchange publish: its temp's create up to the directory fsync. */
  let exchangeStates = 0;
  let exchangePoints = 0;
  const violations: string[] = [];
  for (let k = 0; k <= fs.log.length; k++) {
    const images = fs.crashStates(seedBase + k * 7919, STATES_PER_POINT, { at: k });
    const overExchange = k > marks.mapTempAt && k <= Math.min(marks.mapDurableAt, fs.log.length);
    if (overExchange) exchangePoints++;
    for (const [i, image] of images.entries()) {
      states++;
      if (overExchange) exchangeStates++;
      const op = k > 0 ? fs.log[k - 1] : undefined;
      for (const m of await violationsOf(image, k, marks)) {
        violations.push(`after op ${k} (${op ? `${op.t} ${op.path}` : 'start'}), state ${i}: ${m}`);
      }
    }
  }
  return { states, points: fs.log.length + 1, violations, exchangeStates, exchangePoints };
}

/** The same layer with the directory fsyncs `drop` selects turned into no-ops (default: all). */
function withoutDirSync(fs: MemFs, drop: (path: string) => boolean = () => true): FsLayer {
  return {
    createExclusive: (p, m) => fs.createExclusive(p, m),
    readFile: (p) => fs.readFile(p),
    readRegularFile: (p) => fs.readRegularFile(p),
    rename: (a, b) => fs.rename(a, b),
    renameIfUnchanged: (a, b, id) => fs.renameIfUnchanged(a, b, id),
    link: (a, b) => fs.link(a, b),
    unlink: (p) => fs.unlink(p),
    mkdirp: (p, m) => fs.mkdirp(p, m),
    readdir: (p) => fs.readdir(p),
    lstat: (p) => fs.lstat(p),
    realpath: (p) => fs.realpath(p),
    syncDir: async (p) => (drop(p) ? undefined : fs.syncDir(p)),
  };
}

describe('power loss during an install (simulated, seeded)', () => {
  it('after every operation of a full install, every crash image recovers with contract §4 intact', async () => {
    const fs = makeMemLibrary();
    const marks = await recordRun(fs);
    const { states, points, violations, exchangeStates, exchangePoints } = await explore(fs, marks, 1);
    console.log(
      `power-loss: ${points} crash points (every operation of the install: ${fs.log.length} ops), ${states} crash states explored, ${violations.length} violations; over the map's exchange publish (temp create .. exchange .. directory fsync): ${exchangePoints} points, ${exchangeStates} states`,
    );
    expect(violations.slice(0, 10)).toEqual([]);
    expect(states).toBeGreaterThanOrEqual(points * 30);
    expect(exchangeStates).toBeGreaterThanOrEqual(5 * STATES_PER_POINT);
  });

  it("negative control: the same run without the exchange's directory fsync loses an acknowledged map write", async () => {
    const fs = makeMemLibrary();
    const mapDir = MAP_FILE.slice(0, MAP_FILE.lastIndexOf('/'));
    const marks = await recordRun(
      fs,
      withoutDirSync(fs, (p) => p === mapDir),
    );
    const { states, violations, exchangeStates } = await explore(fs, marks, 4);
    const lost = violations.filter((m) => m.includes('invariant 5'));
    console.log(
      `power-loss negative control (no directory fsync after the exchange): ${states} states (${exchangeStates} over the exchange publish), ${violations.length} violations, e.g. ${lost[0]}`,
    );
    expect(lost.length).toBeGreaterThan(0);
  });

  it('negative control: the same run without directory fsyncs produces violating crash states', async () => {
    const fs = makeMemLibrary();
    const marks = await recordRun(fs, withoutDirSync(fs));
    const { states, violations } = await explore(fs, marks, 2);
    const dangling = violations.filter((m) => m.includes('invariant 1'));
    console.log(
      `power-loss negative control (no directory fsync): ${states} states, ${violations.length} violations, ${dangling.length} of them dangling map pointers (invariant 1), e.g. ${dangling[0]}`,
    );
    expect(violations.length).toBeGreaterThan(0);
    expect(dangling.length).toBeGreaterThan(0);
  });

  it('a crash image is exactly the durable state when nothing un-synced survives, and the full state when everything does', async () => {
    const fs = makeMemLibrary();
    await fs.createExclusive(`${COMPONENTS}/protocols/new.txt`, 0o644).then(async (f) => {
      await f.write(Buffer.from('hello'), 0, 5);
      await f.sync();
    });
    const [durable, all] = fs.crashStates(5, 2);
    expect(durable?.exists(`${COMPONENTS}/protocols/new.txt`)).toBe(false);
    expect(all?.read(`${COMPONENTS}/protocols/new.txt`)).toBe('hello');
    await fs.syncDir(`${COMPONENTS}/protocols`);
    for (const s of fs.crashStates(6, 20)) expect(s.read(`${COMPONENTS}/protocols/new.txt`)).toBe('hello');
  });

  it('un-synced file data can come back old, truncated or garbage', async () => {
    const fs = new MemFsClass();
    fs.mkdirpSync('/d');
    await fs.syncDir('/');
    const f = await fs.createExclusive('/d/x', 0o644);
    await fs.syncDir('/d');
    await f.write(Buffer.from('0123456789'), 0, 10);
    const seen = new Set(fs.crashStates(9, 60).map((s) => s.read('/d/x')));
    expect(seen.has('')).toBe(true);
    expect(seen.has('0123456789')).toBe(true);
    expect([...seen].some((t) => t !== undefined && t.length > 0 && t.length < 10)).toBe(true);
    expect([...seen].some((t) => t !== undefined && t.length === 10 && t !== '0123456789')).toBe(true);
  });
});

describe('power loss during the recovery from a process crash', () => {
  /**
   * A process crash keeps what was written but not fsynced in the page cache; the restarted
   * daemon must not build on it (repoint the map at it) before making it durable itself.
   * For every crash point k: restart and finish the flow on what the crash left, then cut the
   * power after every operation of that recovery.
   */
  async function exploreCompound(statesPerPoint: number) {
    const fs = makeMemLibrary();
    await recordRun(fs);
    let states = 0;
    const violations: string[] = [];
    for (let k = 0; k <= fs.log.length; k++) {
      const crashed = fs.afterProcessCrash(k);
      await runToDone(crashed, countingProvider());
      for (let j = k; j <= crashed.log.length; j++) {
        for (const image of crashed.crashStates(k * 1000 + j, statesPerPoint, { at: j })) {
          states++;
          const store = new RequestStore(image, STATE);
          await store.load();
          await reconcile({ fs: image, mapFile: MAP_FILE, componentsDir: COMPONENTS, stateDir: STATE, orphans: 'quarantine', store });
          const v = [...mapViolations(image, CONTENT), ...leftovers(image)];
          const op = crashed.log[j - 1];
          for (const m of v)
            violations.push(
              `process crash after op ${k} (${fs.log[k - 1]?.t ?? 'start'} ${fs.log[k - 1]?.path ?? ''}), power cut after recovery op ${j} (${op?.t} ${op?.path}): ${m}`,
            );
        }
      }
    }
    return { states, violations };
  }

  // Was a bug (fixed): the reconciler (plan-sync rollForward -> apply-plan -> commitRepoints) and
  // install-batch (publishComponent answering 'existed') repoint the map at a generated file
  // they found on disk without making it durable first: after a process crash between the
  // component's link and its directory fsync (durable-put.ts), the restarted daemon repoints and
  // fsyncs the map while the component's directory entry is still only in the page cache; a
  // power cut then leaves the map naming a missing file (invariant 1). Likewise ensureTypeDir
  // (publish-component.ts:18) skips the fsync of componentsDir when the `<type>s` directory
  // already exists — possibly created, un-synced, by the crashed process.
  it('after a process crash at any step, a power cut during the recovery still leaves no dangling pointer', async () => {
    const { states, violations } = await exploreCompound(8);
    console.log(`power-loss after process crash: ${states} states, ${violations.length} violations, e.g. ${violations[0]}`);
    console.log([...new Set(violations.map((v) => v.replace(/, power cut after recovery op \d+ \(.*?\)/, '')))].join('\n'));
    expect(violations.slice(0, 10)).toEqual([]);
  });
});

describe('power loss on a library that has no state directory yet', () => {
  // Was a bug (fixed): RequestStore.load() creates <stateDir>/requests with mkdirp and never fsyncs the parent
  // directories (src/requests/request-store.ts:35, and :50 for quarantine/requests), so after a power cut the whole `requests`
  // directory — with the acknowledged answer in it — can vanish (invariant 3).
  it('an acknowledged answer survives a power cut even when the state directory was created by this run', async () => {
    const fs = makeMemLibrary({ stateDir: false });
    const marks = await recordRun(fs);
    const { states, violations } = await explore(fs, marks, 3);
    console.log(`power-loss (fresh state dir): ${states} states, ${violations.length} violations, e.g. ${violations[0]}`);
    expect(violations.slice(0, 10)).toEqual([]);
  });
});

describe('power loss while the reconciler quarantines an orphan', () => {
  const ORPHAN = `${COMPONENTS}/protocols/autogen_protocol_for_gone_goal.txt`;
  const ORPHAN_TEXT = 'generated long ago\n';

  async function explorePoints(fs: MemFs, check: (image: MemFs) => Promise<string[]>) {
    const violations: string[] = [];
    let states = 0;
    for (let k = 0; k <= fs.log.length; k++) {
      for (const image of fs.crashStates(77 + k, STATES_PER_POINT, { at: k })) {
        states++;
        for (const m of await check(image)) violations.push(`after op ${k} (${fs.log[k - 1]?.t ?? 'start'} ${fs.log[k - 1]?.path ?? ''}): ${m}`);
      }
    }
    return { states, violations };
  }

  async function quarantineCheck(image: MemFs): Promise<string[]> {
    const v: string[] = [];
    const store = new RequestStore(image, STATE);
    await store.load();
    await reconcile({ fs: image, mapFile: MAP_FILE, componentsDir: COMPONENTS, stateDir: STATE, orphans: 'quarantine', store });
    const copies = image.walk('/lib').filter((p) => image.read(p) === ORPHAN_TEXT);
    if (copies.length === 0) v.push('the orphan was lost (never silently deleted)');
    if (image.exists(ORPHAN)) v.push('the orphan is still in the component tree');
    if (copies.some((p) => !p.startsWith(`${STATE}/quarantine/components/`))) v.push(`orphan copy outside quarantine: ${copies.join(', ')}`);
    for (const p of copies) if (!image.exists(`${p}.origin.json`)) v.push(`quarantined ${p} without its origin record`);
    v.push(...leftovers(image));
    return v;
  }

  async function setup(withQuarantineDir: boolean): Promise<MemFs> {
    const fs = makeMemLibrary();
    fs.writeFile(ORPHAN, ORPHAN_TEXT);
    if (withQuarantineDir) fs.mkdirpSync(`${STATE}/quarantine/components`, 0o700);
    fs.checkpoint();
    const store = new RequestStore(fs, STATE);
    await store.load();
    const { report } = await reconcile({ fs, mapFile: MAP_FILE, componentsDir: COMPONENTS, stateDir: STATE, orphans: 'quarantine', store });
    expect(report.orphans?.quarantined).toHaveLength(1);
    return fs;
  }

  it('an orphan moved into an existing quarantine directory is never lost, and never left half-moved', async () => {
    const fs = await setup(true);
    const { states, violations } = await explorePoints(fs, quarantineCheck);
    console.log(`power-loss (quarantine): ${fs.log.length + 1} points, ${states} states, ${violations.length} violations`);
    expect(violations.slice(0, 10)).toEqual([]);
  });

  // Was a bug (fixed): orphans.ts quarantine() creates <stateDir>/quarantine/components with mkdirp and fsyncs
  // the new directory and the source, but never the new directory's parents
  // (src/reconcile/orphans.ts:29): after a power cut the rename can be durable while the
  // quarantine directory's own entry is not, and the generated file is gone.
  it('an orphan moved into a quarantine directory created by this run is never lost', async () => {
    const fs = await setup(false);
    const { violations } = await explorePoints(fs, quarantineCheck);
    expect(violations.slice(0, 10)).toEqual([]);
  });
});

describe('power loss while an in-place save is re-applied', () => {
  /** The person's save, made into the map version the install replaced: a new goal, the entry as it was. */
  const PERSONS_MAP = { ...ORIGINAL_MAP, ADDED_BY_HAND: { format: 'release_notes_format.txt' } };
  const PERSONS_TEXT = `${JSON.stringify(PERSONS_MAP, null, 2)}\n`;
  const REAPPLIED_TEXT = PERSONS_TEXT.replace(JSON.stringify(MISSING), JSON.stringify(GENERATED_PATH.slice(GENERATED_PATH.lastIndexOf('/') + 1)));
  const INSTALLED_TEXT = ORIGINAL_MAP_TEXT.replace(JSON.stringify(MISSING), JSON.stringify(GENERATED_PATH.slice(GENERATED_PATH.lastIndexOf('/') + 1)));

  it('every crash image over the re-apply holds the installed map or the re-applied save, and the re-apply once durable', async () => {
    const fs = makeMemLibrary();
    const engine = engineOn(fs, countingProvider());
    await engine.start();
    const editor = fs.openInPlace(MAP_FILE); // the person's editor has the map open
    const [r] = engine.store.all();
    await engine.answer(r!.id, ANSWER);
    await engine.idle();
    expect(fs.read(MAP_FILE)).toBe(INSTALLED_TEXT);
    const savedAt = fs.log.length;
    editor.save(PERSONS_TEXT); // ftruncate + write through the descriptor opened before the install
    for (const end = Date.now() + 10_000; engine.inPlaceSaves.stats().reapplied < 1; await new Promise((res) => setTimeout(res, 20))) {
      if (Date.now() > end) throw new Error('the in-place save was not re-applied');
    }
    await engine.idle();
    await engine.stop();
    expect(fs.read(MAP_FILE)).toBe(REAPPLIED_TEXT);
    expect(fs.keptOpen).toBe(0);
    const exchangeAt = fs.log.findIndex((op, i) => i > savedAt && op.t === 'exchange' && op.path === MAP_FILE);
    expect(exchangeAt).toBeGreaterThan(savedAt);
    const durableAt = fs.log.findIndex((op, i) => i > exchangeAt && op.t === 'syncdir' && op.path === MAP_FILE.slice(0, MAP_FILE.lastIndexOf('/'))) + 1;
    expect(durableAt).toBeGreaterThan(exchangeAt);

    let states = 0;
    const violations: string[] = [];
    for (let k = savedAt; k <= fs.log.length; k++) {
      for (const [i, image] of fs.crashStates(9000 + k, STATES_PER_POINT, { at: k }).entries()) {
        states++;
        const where = `after op ${k} (${fs.log[k - 1]?.t} ${fs.log[k - 1]?.path}), state ${i}`;
        const text = image.read(MAP_FILE);
        if (text !== INSTALLED_TEXT && text !== REAPPLIED_TEXT)
          violations.push(`${where}: map is neither the installed map nor the re-applied save: ${JSON.stringify(text?.slice(0, 80))}`);
        if (k >= durableAt && text !== REAPPLIED_TEXT) violations.push(`${where}: the durable re-apply was lost`);
        const store = new RequestStore(image, STATE);
        await store.load();
        const { report } = await reconcile({ fs: image, mapFile: MAP_FILE, componentsDir: COMPONENTS, stateDir: STATE, orphans: 'quarantine', store });
        if (report.mapError) violations.push(`${where}: reconcile: ${report.mapError}`);
        if (image.read(MAP_FILE) !== text) violations.push(`${where}: the recovery changed the map`);
        for (const m of leftovers(image)) violations.push(`${where}: ${m}`);
        if (image.read(GENERATED_PATH) !== CONTENT) violations.push(`${where}: the installed component is not intact`);
      }
    }
    console.log(
      `power-loss (in-place save re-applied): ${fs.log.length - savedAt + 1} crash points from the save through the re-apply's exchange and directory fsync, ${states} states, ${violations.length} violations`,
    );
    expect(violations.slice(0, 10)).toEqual([]);
  });
});
