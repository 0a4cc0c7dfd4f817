/**
 * Fuzzing the goal map (issue 7, item 1). First the pure pipeline — `parseGoalMap` → `planSync`
 * → `componentPath` — with fast-check over random and mutated maps: wrong shapes, deep nesting,
 * unicode, control characters, duplicate keys in the raw text, names with `..`, `/`, `\`, NUL,
 * absolute paths, 10,000-character names, arrays, numbers. Then a smaller number of random maps
 * saved into a real running jitd: it stays up, writes nowhere but its three places, and never
 * rewrites a map it cannot parse.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { relative, sep } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { editMapBytes } from '../../src/install/map-edit.js';
import { MAX_MAP_DEPTH, MapParseError, parseGoalMap } from '../../src/library/goal-map.js';
import { filenameProblem, generatedName, shortHash } from '../../src/library/names.js';
import { componentPath, isInside, UnsafePathError } from '../../src/library/paths.js';
import { planSync } from '../../src/reconcile/plan-sync.js';
import { ComponentIndex } from '../../src/library/component-index.js';
import { newRequest, type Request } from '../../src/requests/request.js';
import type { RunningDaemon } from '../support/daemon-process.js';
import { ctl, kill, listFiles, makeHardLib, outsideSnapshot, output, sleep, start, waitFor, type HardLib } from './support.js';
import { rawCall } from '../support/raw-client.js';

const ROOT = '/srv/lib/components';

/** Hostile names: path tricks, control characters, unicode, huge lengths. */
const HOSTILE = [
  '..',
  '.',
  '',
  '/',
  '\\',
  '\0',
  '../../etc/passwd',
  '..\\..\\boot.ini',
  '/etc/passwd',
  '/tmp/x.txt',
  'a/../../b',
  'protocols/../../x',
  'x\0.txt',
  '.hidden',
  '.jitd-tmp.evil',
  'a\nb',
  '\r',
  '\u0085',
  '\u202eevil.txt',
  '%2e%2e%2f',
  'C:\\Windows',
  '~',
  ' ',
  'CON',
  '__proto__',
  'constructor',
  'toString',
  'x'.repeat(10_000),
  'é'.repeat(200),
  '😀'.repeat(70),
  'ok.txt',
  'review.txt',
];
const piece = fc.constantFrom('..', '.', '/', '\\', '\0', 'a', 'B', '_', '-', 'é', '😀', '\u0001', '\u007f', ' ', '.txt', 'protocol');
const nameArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE) },
  { weight: 3, arbitrary: fc.array(piece, { maxLength: 12 }).map((xs) => xs.join('')) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Z][A-Z0-9_]{0,30}$/) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 12_000 }).map((n) => 'n'.repeat(n)) },
);
const typeArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('protocol', 'persona', 'format', 'a', 'x-y_z', 'A'.repeat(63), 'A'.repeat(64)) },
  { weight: 2, arbitrary: nameArb },
);
/** A random JSON-ish value with bounded depth (the daemon part keeps nesting shallow). */
const junkArb = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.constantFrom(1e308, -0, 2 ** 53 + 1, null, true, [], {}, [[[[[]]]]]),
  fc.array(nameArb, { maxLength: 3 }),
);
const goalValueArb = fc.oneof(
  { weight: 5, arbitrary: fc.dictionary(typeArb, fc.oneof({ weight: 4, arbitrary: nameArb }, { weight: 1, arbitrary: junkArb }), { maxKeys: 4 }) },
  { weight: 1, arbitrary: junkArb },
);
const mapArb = fc.dictionary(nameArb, goalValueArb, { maxKeys: 8 });

/** Deeply nested arrays/objects as raw JSON text. */
const deepText = (depth: number, open = '[', close = ']') => `${open.repeat(depth)}${close.repeat(depth)}`;

/** Mutations of a map's raw text: duplicate keys, truncation, stray bytes, wrong top level. */
const textArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: mapArb.map((m) => JSON.stringify(m)) },
  {
    weight: 2,
    arbitrary: fc.tuple(mapArb, nameArb, nameArb, nameArb).map(([m, g, a, b]) => {
      // Duplicate keys in the raw text: JSON.parse keeps the last; both must be handled.
      const body = JSON.stringify(m).slice(1, -1);
      const dup = `${JSON.stringify(g)}:{"protocol":${JSON.stringify(a)}},${JSON.stringify(g)}:{"protocol":${JSON.stringify(b)}}`;
      return `{${dup}${body ? `,${body}` : ''}}`;
    }),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(mapArb, fc.nat()).map(([m, n]) => {
      const t = JSON.stringify(m);
      return t.slice(0, n % (t.length + 1));
    }),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(mapArb, fc.nat(), fc.string({ unit: 'binary', minLength: 1, maxLength: 3 })).map(([m, n, s]) => {
      const t = JSON.stringify(m);
      const i = n % (t.length + 1);
      return t.slice(0, i) + s + t.slice(i);
    }),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3000 }).map((d) => `{"DEEP":${deepText(d)},"G":{"protocol":"m.txt"}}`) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3000 }).map((d) => `{"DEEP":${deepText(d, '{"a":', '}').replace(/\{"a":\}/, '{"a":1}')}}`) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', 'null', '[]', '"x"', '42', '\u0000', '\ufeff{}', '{"a":1}}', '{"__proto__":{"protocol":"x.txt"}}') },
);

/** Nesting depth of arrays/objects in a JSON value (0 for a scalar), without recursion. */
function depthOf(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 1]];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const [v, d] = item;
    if (typeof v !== 'object' || v === null) continue;
    max = Math.max(max, d);
    for (const c of Array.isArray(v) ? v : Object.values(v)) stack.push([c, d + 1]);
  }
  return max;
}

/** A component index holding a random subset of the names the map mentions, plus generated ones. */
function indexFor(entries: { type: string; filename: string; goal: string }[], pick: number): ComponentIndex {
  const ix = new ComponentIndex();
  entries.forEach((e, i) => {
    if ((pick >> (i % 16)) & 1) ix.add(`${e.type}s`, e.filename);
    if ((pick >> ((i + 3) % 16)) & 1) ix.add(`${e.type}s`, generatedName(e.goal, e.type));
  });
  return ix;
}

/** Records in random states for a random subset of the entries. */
function recordsFor(entries: { type: string; filename: string; goal: string }[], states: number[]): Map<string, Request> {
  const all = ['waiting', 'answered', 'failed', 'done', 'rejected'] as const;
  const m = new Map<string, Request>();
  entries.forEach((e, i) => {
    const s = states[i % Math.max(1, states.length)];
    if (s === undefined || s >= all.length) return;
    const r: Request = { ...newRequest(e.goal, e.type, e.filename), state: all[s] as Request['state'] };
    if (r.state !== 'waiting' && r.state !== 'rejected') r.description = 'd';
    if (r.state === 'failed') r.nextAttemptAt = 0;
    m.set(r.id, r);
  });
  return m;
}

/** Asserts `p` is exactly `<root>/<type>s/<name>`: two plain segments below the root. */
function expectInside(root: string, p: string): void {
  expect(isInside(root, p)).toBe(true);
  const parts = relative(root, p).split(sep);
  expect(parts).toHaveLength(2);
  expect(parts.every((s) => s !== '..' && s !== '.' && s !== '' && !s.includes('\0'))).toBe(true);
}

let cases = 0;

describe('the map pipeline under fuzzing (pure)', () => {
  it('parseGoalMap never throws anything but MapParseError, and throws it exactly for text that is not a JSON object or nests deeper than MAX_MAP_DEPTH', () => {
    fc.assert(
      fc.property(textArb, (text) => {
        cases++;
        let isObject = false;
        try {
          // A leading byte-order mark is allowed (and kept when jitd edits the map).
          const v = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
          isObject = typeof v === 'object' && v !== null && !Array.isArray(v) && depthOf(v) <= MAX_MAP_DEPTH;
        } catch {
          isObject = false;
        }
        try {
          const parsed = parseGoalMap(text);
          expect(isObject).toBe(true);
          expect(parsed.goals).toBe(Object.keys(parsed.json).length);
        } catch (err) {
          expect(err).toBeInstanceOf(MapParseError);
          expect(isObject).toBe(false);
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('every accepted entry, every planned request and every roll-forward resolves to <componentsDir>/<type>s/<plain name>, never outside', () => {
    fc.assert(
      fc.property(textArb, fc.nat(0xffff), fc.array(fc.nat(6), { maxLength: 8 }), (text, pick, states) => {
        cases++;
        let parsed;
        try {
          parsed = parseGoalMap(text);
        } catch (err) {
          expect(err).toBeInstanceOf(MapParseError);
          return;
        }
        for (const e of parsed.entries) {
          expectInside(ROOT, componentPath(ROOT, e.type, e.filename));
          expect(filenameProblem(e.filename)).toBeUndefined();
        }
        const plan = planSync(parsed.entries, indexFor(parsed.entries, pick), recordsFor(parsed.entries, states), { now: 1 });
        for (const r of [...plan.create, ...plan.generate, ...plan.reopen, ...plan.resolvedByPerson, ...plan.retryLater]) {
          expectInside(ROOT, componentPath(ROOT, r.type, r.filename));
          expectInside(ROOT, componentPath(ROOT, r.type, r.generatedName));
        }
        for (const { repoint } of plan.rollForward) {
          expectInside(ROOT, componentPath(ROOT, repoint.type, repoint.from));
          expectInside(ROOT, componentPath(ROOT, repoint.type, repoint.to));
        }
        for (const [type, name] of plan.referenced) expectInside(ROOT, componentPath(ROOT, type, name));
      }),
      { numRuns: 1500 },
    );
  });

  it('componentPath either refuses a hostile (type, name) with UnsafePathError or answers a path two plain segments inside the root', () => {
    fc.assert(
      fc.property(typeArb, nameArb, (type, name) => {
        cases++;
        let p: string;
        try {
          p = componentPath(ROOT, type, name);
        } catch (err) {
          expect(err).toBeInstanceOf(UnsafePathError);
          return;
        }
        expectInside(ROOT, p);
        expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
      }),
      { numRuns: 3000 },
    );
  });

  it('generated names are always safe single file names, whatever the goal', () => {
    fc.assert(
      fc.property(nameArb, typeArb, (goal, type) => {
        cases++;
        if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/.test(type)) return;
        const g = generatedName(goal, type);
        expect(filenameProblem(g)).toBeUndefined();
        expect(g).toMatch(/^autogen_[A-Za-z0-9_-]+_for_[a-z0-9_-]+\.txt$/);
        expectInside(ROOT, componentPath(ROOT, type, g));
      }),
      { numRuns: 2000 },
    );
  });

  it('random distinct goals never share a generated name', () => {
    fc.assert(
      fc.property(nameArb, nameArb, (a, b) => {
        cases++;
        if (a === b) return;
        expect(generatedName(a, 'protocol')).not.toBe(generatedName(b, 'protocol'));
      }),
      { numRuns: 3000 },
    );
  });

  // A canonical goal (`^[A-Z0-9_-]{1,100}$`) is named by its lowercase form only if that form
  // does not end like a hash suffix (`-<8 hex>`); otherwise it is hashed like any other goal, so a
  // plain slug can never equal another goal's slug+hash. Found by this test: the canonical goal
  // `A-<HASH OF "a", UPPERCASED>` lowercased to exactly goal "a"'s generated name, and planSync
  // rolled goal "a" forward onto the other goal's component without asking anybody.
  it('two distinct goals never share a generated name, even a canonical goal crafted to look like a slug plus hash', () => {
    const victim = 'a';
    const crafted = `A-${shortHash(victim).toUpperCase()}`;
    expect(generatedName(crafted, 'protocol')).not.toBe(generatedName(victim, 'protocol'));
    // Had they collided, goal "a" would be pointed at goal crafted's component, nobody asked.
    const ix = new ComponentIndex();
    ix.add('protocols', generatedName(crafted, 'protocol'));
    const plan = planSync([{ goal: victim, type: 'protocol', filename: 'mine.txt' }], ix, new Map());
    expect(plan.rollForward).toHaveLength(0);
    expect(plan.create).toHaveLength(1);
    // The same craft against any goal: the canonical goal spelling out its generated slug.
    fc.assert(
      fc.property(nameArb, (goal) => {
        cases++;
        const name = generatedName(goal, 'protocol');
        const forged = name.slice('autogen_protocol_for_'.length, -'.txt'.length).toUpperCase();
        if (forged === goal) return;
        expect(generatedName(forged, 'protocol')).not.toBe(name);
      }),
      { numRuns: 3000 },
    );
  });

  // Any map parseGoalMap accepts can be edited by jitd byte-exactly: every entry the parse sees
  // is located in the text (duplicate keys, escapes and all), and the edit replaces exactly that
  // one string token. A map nesting deeper than MAX_MAP_DEPTH is refused whole as a MapParseError.
  it('any map parseGoalMap accepts can be repointed byte-exactly, at the occurrence JSON.parse uses', () => {
    for (const depth of [MAX_MAP_DEPTH, 10_000, 1_000_000]) {
      expect(() => parseGoalMap(`{"DEEP":${deepText(depth)},"G":{"protocol":"m.txt"}}`)).toThrow(/nests deeper than/);
    }
    const TO = 'autogen_fuzzed_for_x.txt';
    let edited = 0;
    fc.assert(
      fc.property(textArb, fc.nat(), fc.boolean(), (generated, pick, bom) => {
        cases++;
        // The map as jitd reads it: UTF-8 bytes decoded (a lone surrogate in the generated string became U+FFFD).
        const text = Buffer.from(generated, 'utf8').toString('utf8');
        let parsed;
        try {
          parsed = parseGoalMap(text);
        } catch (err) {
          expect(err).toBeInstanceOf(MapParseError);
          return;
        }
        if (!parsed.entries.length || text.includes(TO)) return;
        const e = parsed.entries[pick % parsed.entries.length]!;
        const orig = Buffer.from(bom && !text.startsWith('\ufeff') ? `\ufeff${text}` : text, 'utf8');
        const { bytes: res, missed } = editMapBytes(orig, [{ goal: e.goal, type: e.type, from: e.filename, to: TO }]);
        expect(missed).toEqual([]);
        edited++;
        const token = Buffer.from(JSON.stringify(TO));
        const at = res.indexOf(token);
        const rest = res.length - at - token.length;
        expect(res.subarray(0, at).equals(orig.subarray(0, at))).toBe(true);
        expect(res.subarray(at + token.length).equals(orig.subarray(orig.length - rest))).toBe(true);
        expect(JSON.parse(orig.subarray(at, orig.length - rest).toString('utf8'))).toBe(e.filename);
        expect(parseGoalMap(res.toString('utf8')).entries).toEqual(parsed.entries.map((x) => (x === e ? { ...x, filename: TO } : x)));
      }),
      { numRuns: 1500 },
    );
    expect(edited).toBeGreaterThan(100);
  });
});

let lib: HardLib | undefined;
let daemon: RunningDaemon | undefined;
afterEach(async () => {
  await kill(daemon);
  daemon = undefined;
  await lib?.cleanup();
  lib = undefined;
});

/** Random maps for the daemon: the same arbitraries, valid entries mixed in so installs happen. */
const daemonTextArb = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(mapArb, fc.stringMatching(/^[A-Z][A-Z_]{2,12}$/), nameArb)
      .map(([m, g, f]) =>
        JSON.stringify({ ...m, [`FUZZ_${g}`]: { protocol: `${f.replace(/[^a-z0-9_.-]/gi, '') || 'x'}.txt` }, REVIEW: { protocol: 'review.txt' } }, null, 2),
      ),
  },
  { weight: 2, arbitrary: textArb.filter((t) => !t.includes('"DEEP"')) },
);

describe('random maps saved into a running jitd', () => {
  it('stays up, answers status, never rewrites an unparsable map, and writes nowhere but its three places', async () => {
    lib = await makeHardLib();
    const outsideBefore = await outsideSnapshot(lib);
    daemon = await start(lib);
    expect((await ctl(lib, ['status'])).code).toBe(0);
    const seed = Date.now() % 1_000_000;
    const texts = fc.sample(daemonTextArb, { numRuns: 20, seed });
    let installs = 0;
    let unparsable = 0;
    for (const [i, text] of texts.entries()) {
      // Alternate an in-place write and an editor's temp + rename.
      if (i % 2) await writeFile(lib.mapFile, text);
      else {
        await writeFile(`${lib.mapFile}.fuzz~`, text);
        await rename(`${lib.mapFile}.fuzz~`, lib.mapFile);
      }
      // What the person wrote, byte for byte (a lone surrogate in `text` is written as U+FFFD).
      const written = Buffer.from(text, 'utf8');
      let ok = true;
      try {
        parseGoalMap(written.toString('utf8'));
      } catch {
        ok = false;
      }
      // Wait until jitd has seen the save (polling: a `status --sync` right after a save can
      // miss it, a known bug tested in person-edits.test.ts).
      const st = await waitFor(
        `seed ${seed} map #${i} to be seen (${ok ? 'parsable' : 'unparsable'})`,
        async () => {
          const r = await rawCall(lib!.socketPath, 'status', { sync: true });
          expect(r.result, `seed ${seed} map #${i}: ${JSON.stringify(r.error)}\n${output(daemon!).slice(-2000)}`).toBeDefined();
          return (r.result.mapError !== null) === !ok && r;
        },
        5000,
        50,
      );
      if (!ok) {
        unparsable++;
        // Not repaired: still exactly the bytes the person saved.
        await sleep(100);
        expect((await readFile(lib.mapFile)).equals(written), `seed ${seed} map #${i} was rewritten`).toBe(true);
        continue;
      }
      expect(st.result.mapError).toBeNull();
      // Answer one waiting request of this map (weird goal names go through a real install).
      const pending = await rawCall(lib.socketPath, 'pending', { limit: 5 });
      const first = pending.result.requests[0];
      if (first) {
        const a = await rawCall(lib.socketPath, 'answer', { id: first.id, text: `fuzz answer ${i}` });
        expect(a.result ?? a.error).toBeDefined();
        const after = await rawCall(lib.socketPath, 'status', { sync: true });
        expect(after.result).toBeDefined();
        if (a.result) installs++;
      }
    }
    const final = await ctl(lib, ['status']);
    expect(final.code, output(daemon).slice(-3000)).toBe(0);
    expect(daemon.child.exitCode).toBeNull();

    // Nothing outside the library changed; inside it, only its three places hold anything new.
    expect(await outsideSnapshot(lib)).toEqual(outsideBefore);
    const files = await listFiles(lib.root);
    const stray = files.filter(
      (f) =>
        !f.startsWith('components/') &&
        !f.startsWith('.jitd/') &&
        f !== 'config/goal_map.json' &&
        f !== 'config/jitd.json' &&
        f !== 'config/goal_map.json.fuzz~',
    );
    expect(stray).toEqual([]);
    for (const f of files.filter((x) => x.startsWith('components/'))) expect(f.split('/')).toHaveLength(3);
    console.log(`fuzz-map daemon: seed ${seed}, ${texts.length} maps (${unparsable} unparsable), ${installs} installs answered; pure cases so far: ${cases}`);
  });

  // A map nesting thousands of levels under an unrelated key is reported as unusable (status
  // mapError, last good map kept); the install answered meanwhile waits, and jitd stays up. Found
  // by this test: the install's map write threw RangeError from JSON.stringify, the next sync hit
  // it again in Engine.syncNow, an unhandled rejection from onMapHint made jitd exit 1, and the
  // start-up reconcile hit it again: a crash loop.
  it('a deeply nested value saved under an unrelated key never crashes jitd, before or after an install', async () => {
    lib = await makeHardLib({ map: { G: { protocol: 'missing.txt' } } });
    daemon = await start(lib);
    const pending = await rawCall(lib.socketPath, 'pending', {});
    expect(pending.result.requests).toHaveLength(1);
    // The person saves a map with a 6,000-deep value beside the entry: reported, not acted on.
    const deep = `{"DEEP": ${deepText(6000)}, "G": {"protocol": "missing.txt"}}`;
    await writeFile(lib.mapFile, deep);
    const st = await waitFor(
      'the deep map to be reported',
      async () => {
        const r = await rawCall(lib!.socketPath, 'status', { sync: true });
        return typeof r.result?.mapError === 'string' && r.result.mapError.includes('nests deeper than') && r;
      },
      5000,
      50,
    );
    expect(st.result.mapError).toContain('"DEEP"');
    const a = await rawCall(lib.socketPath, 'answer', { id: pending.result.requests[0].id, text: 'deep' });
    expect(a.result).toBeDefined();
    await sleep(1500);
    expect(daemon.child.exitCode, output(daemon).slice(-1500)).toBeNull();
    // Never rewritten while unusable; once the person fixes it, the parked install lands.
    expect(await readFile(lib.mapFile, 'utf8')).toBe(deep);
    await writeFile(lib.mapFile, '{"DEEP": [[1]], "G": {"protocol": "missing.txt"}}');
    await waitFor(
      'the install to land',
      async () => JSON.parse(await readFile(lib!.mapFile, 'utf8')).G?.protocol === generatedName('G', 'protocol'),
      15_000,
      100,
    );
    expect(JSON.parse(await readFile(lib.mapFile, 'utf8')).DEEP).toEqual([[1]]);
    expect(daemon.child.exitCode, output(daemon).slice(-1500)).toBeNull();
    expect((await ctl(lib, ['status'])).code).toBe(0);
  });
});
