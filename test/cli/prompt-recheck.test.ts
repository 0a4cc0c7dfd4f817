/**
 * `jitctl prompt` never asks about a request that stopped waiting (contract §6, issue 11 item 6):
 * it re-checks each request before its question, and a request answered elsewhere while the
 * person was typing gets a one-line note (with their text given back), never an ESTATE failure.
 * Two real jitctl processes against one daemon; the prompt reads from a pipe written step by step.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requestId } from '../../src/requests/request.js';
import { startDaemonFixture, type DaemonFixture } from '../support/daemon-fixture.js';
import { assertBuilt, jitctl, jitctlInteractive } from './run-jitctl.js';

const THREE = { A_GOAL: { protocol: 'a.txt' }, B_GOAL: { protocol: 'b.txt' }, C_GOAL: { protocol: 'c.txt' } };
const idOf = (g: 'A' | 'B' | 'C') => requestId(`${g}_GOAL`, 'protocol', `${g.toLowerCase()}.txt`);

let d: DaemonFixture | undefined;
afterEach(async () => {
  await d?.close();
  d = undefined;
});
beforeAll(() => assertBuilt());

const interactivePrompt = (socketPath: string) => jitctlInteractive(['--socket', socketPath, 'prompt']);

async function stateOf(fx: DaemonFixture, id: string) {
  return JSON.parse(await readFile(join(fx.config.stateDir, 'requests', `${id}.json`), 'utf8'));
}

describe('jitctl prompt re-checks each request before asking', () => {
  it('skips, with a one-line note, a request another jitctl answered between two questions', async () => {
    const fx = (d = await startDaemonFixture({ map: THREE }));
    const p = interactivePrompt(fx.socketPath);
    await p.until('[1 of 3] A_GOAL');
    const other = await jitctl(['--socket', fx.socketPath, 'answer', idOf('B'), 'answered by someone else']);
    expect(other.code).toBe(0);
    p.send('answer for a');
    await p.until('C_GOAL');
    p.send('answer for c');
    p.end();
    expect(await p.exit).toBe(0);
    const { stdout, stderr } = p.output();
    expect(stdout).toMatch(new RegExp(`${idOf('B')} \\(B_GOAL · protocol\\) is (answered|generating|installing|done) now; not asked`));
    expect(stdout).not.toContain('] B_GOAL');
    expect(stdout).toContain('[2 of 2] C_GOAL');
    expect(stderr).not.toContain('ESTATE');
    expect(await stateOf(fx, idOf('A'))).toMatchObject({ description: 'answer for a' });
    expect(await stateOf(fx, idOf('B'))).toMatchObject({ description: 'answered by someone else' });
    expect(await stateOf(fx, idOf('C'))).toMatchObject({ description: 'answer for c' });
    await fx.engine.idle();
  });

  it('a request answered elsewhere while the person types gets a note with their text given back, not an ESTATE failure', async () => {
    const fx = (d = await startDaemonFixture({ map: THREE }));
    const p = interactivePrompt(fx.socketPath);
    await p.until('[1 of 3] A_GOAL');
    expect((await jitctl(['--socket', fx.socketPath, 'answer', idOf('A'), 'the first answer'])).code).toBe(0);
    p.send('my late answer');
    await p.until('B_GOAL');
    p.end();
    expect(await p.exit).toBe(0);
    const { stdout, stderr } = p.output();
    expect(stdout).toMatch(
      new RegExp(`${idOf('A')} \\(A_GOAL · protocol\\) became (answered|generating|installing|done) meanwhile; your description was not sent: my late answer`),
    );
    expect(stderr).toBe('');
    expect(await stateOf(fx, idOf('A'))).toMatchObject({ description: 'the first answer' });
    await fx.engine.idle();
  });
});
