/**
 * Fuzzing the control socket of a real jitd (issue 7, item 1): random frames — strings and raw
 * bytes, JSON values, envelopes with random methods, params and ids, huge numbers, deeply
 * nested arrays, oversized lines — pipelined over several connections and cut into random
 * chunks. Every newline-terminated frame gets exactly one response, in order, with a result or
 * an error; the daemon stays up; a well-behaved client keeps being served throughout.
 *
 * Blank frames (nothing but whitespace once decoded) are keep-alives: the server ignores them
 * by design (src/ipc/connection.ts), so they are sent but not counted.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningDaemon } from '../support/daemon-process.js';
import { ctl, kill, makeHardLib, output, start, type HardLib } from './support.js';
import { rawCall, RawClient } from '../support/raw-client.js';

const METHODS = ['ping', 'status', 'pending', 'answer', 'reject', 'retry', 'reconcile', 'compose', 'show', 'history', 'subscribe'];
const MAX_LINE = 1024 * 1024;

const idArb = fc.oneof(
  fc.integer(),
  fc.string({ maxLength: 20 }),
  fc.constantFrom(1e308, -1e-308, 2 ** 53 + 2, -0, 0.5, 'x'.repeat(300), null, true, [], {}, [1, [2, [3]]]),
);
const methodArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...METHODS) },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', '', 'PING', 'ping ', 'x'.repeat(101)) },
  { weight: 2, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);
const paramsArb = fc.oneof(
  fc.constant(undefined),
  fc.jsonValue({ maxDepth: 3 }),
  fc.record({ id: fc.oneof(fc.string({ maxLength: 70 }), fc.stringMatching(/^[0-9a-f]{4,12}$/)), text: fc.string({ maxLength: 50 }) }, { requiredKeys: [] }),
  fc.record(
    { limit: fc.oneof(fc.integer(), fc.double()), after: fc.string({ maxLength: 40 }), states: fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }) },
    { requiredKeys: [] },
  ),
  fc.record({ goal: fc.string({ maxLength: 30 }), sync: fc.boolean(), types: fc.array(fc.string({ maxLength: 12 }), { maxLength: 3 }) }, { requiredKeys: [] }),
);
const envelopeArb = fc.record({ id: idArb, method: methodArb, params: paramsArb }, { requiredKeys: [] }).map((e) => JSON.stringify(e));

/** One frame's bytes, without its newline. */
const frameArb: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 6, arbitrary: envelopeArb.map((s) => Buffer.from(s)) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }).map((s) => Buffer.from(s.replace(/\n/g, ''))) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b.filter((x) => x !== 0x0a))) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(
        '{"id":1e400,"method":"ping"}',
        '{"id":123456789012345678901234567890,"method":"ping"}',
        '{"id":-1e-400,"method":"status"}',
        '{"id":1,"method":"pending","params":{"limit":1e400}}',
        '{"id":2,"method":"pending","params":{"limit":9007199254740993}}',
        '{"id":3,"method":"pending","params":{"after":"!!!"}}',
        '{"id":4,"method":"compose","params":{"goal":"__proto__"}}',
        '{"id":5,"method":"answer","params":{"id":"0000","text":"x"}}',
        '{"id":6,"method":"ping","params":[]}',
        '{"id":7,"method":"ping","params":null}',
        '{"id":8,"method":"ping"}\r',
        '{"id":9,"method":"ping","id":10}',
        '{"__proto__":{"method":"ping"},"id":11}',
        '\ufeff{"id":12,"method":"ping"}',
        'null',
        '"ping"',
        '[]',
        '{}',
      )
      .map((s) => Buffer.from(s)),
  },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 50_000 }).map((d) => Buffer.from(`${'['.repeat(d)}${']'.repeat(d)}`)) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 100, max: 20_000 }).map((d) => Buffer.from(`{"id":1,"method":"ping","params":{"a":${'{"a":'.repeat(d)}1${'}'.repeat(d)}}}`)),
  },
);

/** Would the server answer this frame? (Blank lines are ignored; a trailing CR is stripped.) */
function expectsResponse(frame: Buffer): boolean {
  let b = frame;
  if (b.length && b[b.length - 1] === 0x0d) b = b.subarray(0, b.length - 1);
  if (b.length > MAX_LINE) return true;
  return b.toString('utf8').trim() !== '';
}

let lib: HardLib | undefined;
let daemon: RunningDaemon | undefined;
afterEach(async () => {
  await kill(daemon);
  daemon = undefined;
  await lib?.cleanup();
  lib = undefined;
});

describe('random frames on the control socket of a running jitd', () => {
  it('answers every newline-terminated frame exactly once, in order, with a result or an error, while another client keeps being served', async () => {
    lib = await makeHardLib({ map: { REVIEW: { protocol: 'review.txt' }, G: { protocol: 'missing.txt' } } });
    daemon = await start(lib);
    const seed = Date.now() % 1_000_000;
    const CONNS = 4;
    const BATCHES = 5;
    const PER_BATCH = 200;

    // The well-behaved client: pings all along on its own connection.
    const good = await RawClient.connect(lib.socketPath);
    let goodServed = 0;
    let fuzzing = true;
    const goodLoop = (async () => {
      while (fuzzing) {
        const r = await good.call('ping', undefined, 15_000);
        expect(r.result?.pong, JSON.stringify(r)).toBe(true);
        goodServed++;
        await new Promise((res) => setTimeout(res, 20));
      }
    })();

    let framesSent = 0;
    let answered = 0;
    let errors = 0;
    let results = 0;
    const rng = fc.sample(fc.array(fc.integer({ min: 1, max: 4096 }), { minLength: 64, maxLength: 64 }), { numRuns: 1, seed })[0] as number[];
    const fuzzConn = async (c: number) => {
      for (let b = 0; b < BATCHES; b++) {
        const frames = fc.sample(frameArb, { numRuns: PER_BATCH, seed: seed + c * 100 + b });
        // One oversized frame in some batches (ETOOBIG, the rest of it discarded).
        if ((c + b) % 3 === 0) frames.splice(PER_BATCH >> 1, 0, Buffer.alloc(MAX_LINE + 10, 0x61));
        const expected = frames.filter(expectsResponse).length;
        const client = await RawClient.connect(lib!.socketPath);
        const wire = Buffer.concat(frames.flatMap((f) => [f, Buffer.from('\n')]));
        // Cut into random chunks: frames arrive split and glued at arbitrary points.
        for (let at = 0, k = 0; at < wire.length; k++) {
          const n = Math.min(wire.length - at, (rng[k % rng.length] as number) * (k % 7 === 0 ? 64 : 1));
          client.send(wire.subarray(at, at + n));
          at += n;
        }
        framesSent += frames.length;
        // A sentinel after the batch: every frame's response must come before it.
        const sentinelId = `sentinel-${c}-${b}`;
        client.send(`${JSON.stringify({ id: sentinelId, method: 'ping' })}\n`);
        const all = await client.waitResponses(expected + 1, 30_000);
        const last = all[expected];
        expect(last, `seed ${seed} conn ${c} batch ${b}: response count off`).toMatchObject({ id: sentinelId, result: { pong: true } });
        for (const r of all.slice(0, expected)) {
          const hasResult = r && typeof r === 'object' && 'result' in r;
          const hasError = r && typeof r === 'object' && 'error' in r && typeof r.error.code === 'string' && typeof r.error.message === 'string';
          expect(hasResult !== hasError, `seed ${seed}: ${JSON.stringify(r).slice(0, 200)}`).toBe(true);
          if (hasError) errors++;
          else results++;
        }
        expect(client.unparsable).toEqual([]);
        answered += expected;
        client.close();
      }
    };
    try {
      await Promise.all(Array.from({ length: CONNS }, (_, c) => fuzzConn(c)));
    } finally {
      fuzzing = false;
      await goodLoop;
      good.close();
    }
    expect(daemon.child.exitCode, output(daemon).slice(-2000)).toBeNull();
    expect((await ctl(lib, ['status'])).code).toBe(0);
    expect((await rawCall(lib.socketPath, 'pending', {})).result.requests).toHaveLength(1);
    expect(goodServed).toBeGreaterThan(0);
    console.log(
      `fuzz-socket: seed ${seed}, ${framesSent} frames sent on ${CONNS * BATCHES} connections, ${answered} answered (${results} results, ${errors} errors), good client served ${goodServed} pings`,
    );
  });

  it('answers a frame of every known method with random params with a result or an error, one connection per frame', async () => {
    lib = await makeHardLib({ map: { REVIEW: { protocol: 'review.txt' }, G: { protocol: 'missing.txt' } } });
    daemon = await start(lib);
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...METHODS.filter((m) => m !== 'subscribe')), paramsArb, async (method, params) => {
        n++;
        const r = await rawCall(lib!.socketPath, method, params, 15_000);
        expect('result' in r !== 'error' in r).toBe(true);
      }),
      { numRuns: 300 },
    );
    expect(daemon.child.exitCode).toBeNull();
    expect((await ctl(lib, ['status'])).code).toBe(0);
    console.log(`fuzz-socket: ${n} single-frame calls of known methods`);
  });
});
