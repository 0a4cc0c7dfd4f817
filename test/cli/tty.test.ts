/**
 * jitctl on a real pseudo-terminal (python3's pty module): `prompt` asks and reads typed answers,
 * Ctrl-C leaves the rest untouched; `answer ID` asks when TEXT is left out; color appears on a
 * terminal and never with NO_COLOR.
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requestId } from '../../src/requests/request.js';
import { MISSING_FILE, MISSING_GOAL, startDaemonFixture, type DaemonFixture, type FixtureOptions } from '../support/daemon-fixture.js';
import { assertBuilt, jitctlPty } from './run-jitctl.js';

const ESC = '\u001b[';
const MISSING_ID = requestId(MISSING_GOAL, 'protocol', MISSING_FILE);
const THREE = { A_GOAL: { protocol: 'a.txt' }, B_GOAL: { protocol: 'b.txt' }, C_GOAL: { protocol: 'c.txt' } };

let hasPty = true;
try {
  execFileSync('python3', ['-c', 'import pty']);
} catch {
  hasPty = false;
}

let d: DaemonFixture | undefined;
async function start(opts: FixtureOptions = {}): Promise<DaemonFixture> {
  d = await startDaemonFixture(opts);
  return d;
}
afterEach(async () => {
  await d?.close();
  d = undefined;
});
beforeAll(() => assertBuilt());

async function stateOf(fx: DaemonFixture, id: string) {
  return JSON.parse(await readFile(join(fx.config.stateDir, 'requests', `${id}.json`), 'utf8'));
}

describe.skipIf(!hasPty)('jitctl on a terminal', () => {
  it('prompt asks for each request in turn ("1 of 3"), takes typed answers, and Ctrl-C leaves the rest untouched', async () => {
    const fx = await start({ map: THREE });
    const ids = ['A_GOAL', 'B_GOAL', 'C_GOAL'].map((g) => requestId(g, 'protocol', `${g[0]!.toLowerCase()}.txt`));
    const r = await jitctlPty(
      ['--socket', fx.socketPath, 'prompt'],
      [
        ['expect', '[1 of 3]'],
        ['expect', 'description'],
        ['send', 'answer for a\r'],
        ['expect', '[2 of 3]'],
        ['expect', 'description'],
        ['send', 'answer for b\r'],
        ['expect', '[3 of 3]'],
        ['expect', 'description'],
        ['send', '\u0003'],
      ],
    );
    expect(r.stdout).toContain('answered');
    expect(r.stdout).toContain('1 request(s) left untouched');
    expect(r.code).toBe(130);
    expect(await stateOf(fx, ids[0]!)).toMatchObject({ description: 'answer for a' });
    expect(await stateOf(fx, ids[1]!)).toMatchObject({ description: 'answer for b' });
    expect(await stateOf(fx, ids[2]!)).toMatchObject({ state: 'waiting' });
    await fx.engine.idle();
  });

  it('answer ID without TEXT asks on the terminal', async () => {
    const fx = await start();
    const r = await jitctlPty(
      ['--socket', fx.socketPath, 'answer', MISSING_ID],
      [
        ['expect', `Description for request ${MISSING_ID}: `],
        ['send', 'typed on the terminal\r'],
      ],
    );
    expect(r.code).toBe(0);
    expect(await stateOf(fx, MISSING_ID)).toMatchObject({ description: 'typed on the terminal' });
    await fx.engine.idle();
  });

  it('colors output on a terminal, and not at all when NO_COLOR is set', async () => {
    const fx = await start();
    const colored = await jitctlPty(['--socket', fx.socketPath, 'pending'], []);
    expect(colored.code).toBe(0);
    expect(colored.stdout).toContain(ESC);
    const plain = await jitctlPty(['--socket', fx.socketPath, 'pending'], [], { env: { NO_COLOR: '1' } });
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain(MISSING_ID);
    expect(plain.stdout).not.toContain(ESC);
  });
});
