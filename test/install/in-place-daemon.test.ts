/**
 * The map edits of the running daemon, with real files and the built jitd: byte-exact (a map
 * with a UTF-8 BOM and CRLF line endings keeps every byte but the one string repointed), and a
 * save through a descriptor opened before `jitctl answer` — ftruncate and write on the inode
 * jitd's install swapped out — ends up in the map with jitd's repoint on top (issue 11 items 2, 4).
 */
import { open, readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { generatedName } from '../../src/library/names.js';
import type { RunningDaemon } from '../support/daemon-process.js';
import { ctl, kill, makeHardLib, output, pendingJson, start, statusJson, waitFor, type HardLib } from '../hardening/support.js';

let lib: HardLib | undefined;
let daemon: RunningDaemon | undefined;
afterEach(async () => {
  await kill(daemon);
  daemon = undefined;
  await lib?.cleanup();
  lib = undefined;
});

const GOAL = 'DIAGNOSE_ROOT_CAUSE';
const GEN = generatedName(GOAL, 'persona');

/** Starts jitd on `mapText` and answers its one request; answers once the map names the generated file. */
async function installOn(mapText: string, beforeAnswer?: () => Promise<void>): Promise<void> {
  lib = await makeHardLib({ mapText, config: { rescanIntervalMs: 0 } });
  daemon = await start(lib);
  const [r] = await pendingJson(lib, ['waiting']);
  expect(r?.goal).toBe(GOAL);
  await beforeAnswer?.();
  const a = await ctl(lib, ['answer', r!.id, 'A skeptical SRE']);
  expect(a.code, a.stderr).toBe(0);
  await waitFor('the install', async () => (await readFile(lib!.mapFile, 'utf8')).includes(GEN));
}

describe('the running daemon edits the map byte-exactly', () => {
  it('keeps a BOM, CRLF line endings, 1.50 and a goal named "10": only the repointed string changes', async () => {
    const original = `\uFEFF{\r\n  "10": { "protocol": "review.txt" },\r\n  "${GOAL}": { "persona": "skeptic.txt", "weight": 1.50 },\r\n  "REVIEW": {"protocol":"review.txt"}\r\n}\r\n`;
    await installOn(original);
    const after = await readFile(lib!.mapFile);
    expect(after.equals(Buffer.from(original.replace('"skeptic.txt"', JSON.stringify(GEN)), 'utf8')), after.toString()).toBe(true);
    expect((await statusJson(lib!)).mapError).toBeNull();
  });
});

describe('a save through a descriptor opened before the install', () => {
  it("lands in the map, with jitd's repoint on top, and is counted in jitctl status", async () => {
    const original = `{\n  "${GOAL}": { "persona": "skeptic.txt" },\n  "REVIEW": { "protocol": "review.txt" }\n}\n`;
    // The person's save, made from what they had open: a new goal, the entry still as it was.
    const persons = `{\n  "${GOAL}": { "persona": "skeptic.txt" },\n  "MY_NEW_GOAL": { "protocol": "review.txt" },\n  "REVIEW": { "protocol": "review.txt" }\n}\n`;
    let fh: Awaited<ReturnType<typeof open>> | undefined;
    await installOn(original, async () => {
      fh = await open(lib!.mapFile, 'r+'); // opened before `jitctl answer`
    });
    // The install has published: the descriptor is on the version jitd swapped out.
    await fh!.truncate(0);
    await fh!.write(Buffer.from(persons), 0, Buffer.byteLength(persons), 0);
    await fh!.close();
    const expected = persons.replace('"skeptic.txt"', JSON.stringify(GEN));
    await waitFor('the in-place save in the map', async () => (await readFile(lib!.mapFile, 'utf8')) === expected, 15_000).catch(async (err) => {
      throw new Error(
        `${(err as Error).message}; map: ${await readFile(lib!.mapFile, 'utf8')}; status: ${JSON.stringify((await statusJson(lib!)).counts)}; log: ${output(daemon!).slice(-3000)}`,
      );
    });
    const st = await statusJson(lib!);
    expect(st.counts.inPlaceSaves).toMatchObject({ detected: 1, reapplied: 1, keptAside: 0 });
    expect(output(daemon!)).toContain('was re-applied');
  });
});
