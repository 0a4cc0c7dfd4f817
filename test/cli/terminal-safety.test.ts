/**
 * Map text never drives the terminal (contract §6, issue 12 item 5): jitctl runs on a real
 * pseudo-terminal against a library whose goals, types, file names and component text carry
 * escape sequences, CR, LF, C1 controls and bidi overrides, and the exact bytes it writes to the
 * terminal are checked: nothing but jitctl's own styling (SGR color) and readline's own cursor
 * moves reach it raw; the hostile text is shown, escaped. Off the terminal the same holds for
 * human output; `--json` stays exact JSON and `compose` into a pipe stays the exact prompt.
 */
import { execFileSync } from 'node:child_process';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requestId } from '../../src/requests/request.js';
import { startDaemonFixture, type DaemonFixture } from '../support/daemon-fixture.js';
import { assertBuilt, jitctl, jitctlPty, type PtyStep } from './run-jitctl.js';

const ESC = '\u001b';
/** Sets the window title, clears the screen, homes the cursor. */
const EVIL = `EVIL${ESC}]0;title\u0007${ESC}[2J${ESC}[HFAKE`;
/** Shown raw, the CR hides `SAFE` and the person reads DIAGNOSE_ROOT_CAUSE. */
const SPOOF = 'SAFE\rDIAGNOSE_ROOT_CAUSE';
/** Shown raw, the LF fakes a line of jitctl's own. */
const NEWLINE = 'LINE\n[9 of 9] FAKE_GOAL · protocol';
/** RIGHT-TO-LEFT OVERRIDE and an isolate: what is shown is reordered. */
const BIDI = 'BIDI\u202eEVIL\u2066x\u2069\u200f\u061c';
/** 8-bit CSI, OSC and ST: a terminal in 8-bit mode obeys them. */
const C1 = 'C1\u009b2J\u009d0;t\u009c';
const CONTENT = `line one${ESC}[2J${ESC}]0;pwned\u0007\r\nline \u202etwo\u009b\n`;

const MAP = {
  [EVIL]: { protocol: 'evil.txt' },
  [SPOOF]: { protocol: 'spoof.txt' },
  [NEWLINE]: { protocol: 'nl.txt' },
  [BIDI]: { persona: 'bidi.txt' },
  [C1]: { protocol: 'c1.txt' },
  // Map problems: an unsafe type and an unsafe (C1) file name under a hostile goal.
  [`PROBLEM${ESC}[31m`]: { [`ty${ESC}[2Jpe`]: 'a.txt', protocol: 'bad\u009b.txt' },
  COMPOSE_ME: { protocol: 'shown.txt', persona: 'missing.txt' },
};
const WAITING = 6; // the five hostile goals, and COMPOSE_ME's missing persona

let hasPty = true;
try {
  execFileSync('python3', ['-c', 'import pty']);
} catch {
  hasPty = false;
}

let d: DaemonFixture | undefined;
afterEach(async () => {
  await d?.close();
  d = undefined;
});
beforeAll(() => assertBuilt());

async function start(): Promise<DaemonFixture> {
  d = await startDaemonFixture({ map: MAP, components: { 'protocols/shown.txt': CONTENT } });
  return d;
}

/** The code points of `bytes` that may drive a terminal, once jitctl's own sequences are removed. */
function rawControls(bytes: Buffer): string[] {
  const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  const rest = text
    .replace(/\r+\n/g, '\n') // a line end: the terminal's ONLCR after readline's or a CRLF file's own CR
    .replace(/\u001b\[[0-9;]*m/g, '') // jitctl's SGR colors
    .replace(/\u001b\[(?:\d*G|0J|0K|2K|\d*[CD])/g, ''); // readline drawing its prompt line

  const found = rest.match(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g) ?? [];
  return found.map((c) => `U+${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** What a person reads: line ends normalised, jitctl's colors removed. */
const shown = (r: { stdout: string }) => r.stdout.replace(/\r+\n/g, '\n').replace(/\u001b\[[0-9;]*m/g, '');

const pty = (fx: DaemonFixture, args: string[], steps: PtyStep[] = []) => jitctlPty(['--socket', fx.socketPath, ...args], steps);

describe.skipIf(!hasPty)('jitctl on a pseudo-terminal shows map text escaped, never raw', () => {
  it('pending: ESC sequences, CR, LF, C1 and bidi in goals are shown as \\e, \\r, \\n, \\x9b, \\u202e; the screen is never cleared', async () => {
    const fx = await start();
    const r = await pty(fx, ['pending']);
    expect(r.code).toBe(0);
    expect(rawControls(r.bytes)).toEqual([]);
    expect(shown(r)).toContain('EVIL\\e]0;title\\x07\\e[2J\\e[HFAKE');
    expect(shown(r)).toContain('SAFE\\rDIAGNOSE_ROOT_CAUSE');
    expect(shown(r)).toContain('LINE\\n[9 of 9] FAKE_GOAL');
    expect(shown(r)).toContain('BIDI\\u202eEVIL\\u2066x\\u2069\\u200f\\u061c');
    expect(shown(r)).toContain('C1\\x9b2J\\x9d0;t\\x9c');
    expect(shown(r)).toContain('personas/missing.txt');
    expect(shown(r)).toContain(`${WAITING} waiting`);
  });

  it('prompt: each question names the goal escaped (SAFE\\rDIAGNOSE_ROOT_CAUSE, not DIAGNOSE_ROOT_CAUSE)', async () => {
    const fx = await start();
    const steps: PtyStep[] = [];
    for (let i = 1; i <= WAITING; i++) steps.push(['expect', `[${i} of ${WAITING}]`], ['expect', 'description'], ['send', '\r']);
    const r = await pty(fx, ['prompt'], steps);
    expect(r.code).toBe(0);
    expect(rawControls(r.bytes)).toEqual([]);
    expect(shown(r)).toContain('SAFE\\rDIAGNOSE_ROOT_CAUSE · protocol');
    expect(shown(r)).toContain('EVIL\\e]0;title\\x07\\e[2J\\e[HFAKE · protocol');
    expect(shown(r).match(/skipped/g)).toHaveLength(WAITING);
  });

  it('status: map problems (an ESC in a type, a C1 in a file name, under a hostile goal) are shown escaped', async () => {
    const fx = await start();
    const r = await pty(fx, ['status']);
    expect(r.code).toBe(0);
    expect(rawControls(r.bytes)).toEqual([]);
    expect(shown(r)).toContain('2 entries skipped');
    expect(shown(r)).toContain('PROBLEM\\e[31m.ty\\e[2Jpe');
    expect(shown(r)).toContain('PROBLEM\\e[31m.protocol');
  });

  it('answer: the question and the confirmation show the hostile goal escaped', async () => {
    const fx = await start();
    const id = requestId(EVIL, 'protocol', 'evil.txt');
    const r = await pty(
      fx,
      ['answer', id],
      [
        ['expect', `Description for request ${id}: `],
        ['send', 'a harmless description\r'],
      ],
    );
    expect(r.code).toBe(0);
    expect(rawControls(r.bytes)).toEqual([]);
    expect(shown(r)).toContain(`answered ${id} (EVIL\\e]0;title\\x07\\e[2J\\e[HFAKE · protocol)`);
    await fx.engine.idle();
  });

  it('compose: component text keeps its lines but its escape sequences, C1 and bidi are made visible; warnings too', async () => {
    const fx = await start();
    const r = await pty(fx, ['compose', 'COMPOSE_ME']);
    expect(r.code).toBe(0);
    expect(rawControls(r.bytes)).toEqual([]);
    expect(shown(r)).toContain('line one\\e[2J\\e]0;pwned\\x07\n');
    expect(shown(r)).toContain('line \\u202etwo\\x9b');
    expect(shown(r)).toContain('warning: persona missing.txt is missing');
  });
});

describe('jitctl off a terminal', () => {
  it('human output to a pipe is escaped just the same', async () => {
    const fx = await start();
    for (const args of [['pending'], ['status'], ['reconcile']]) {
      const r = await jitctl(['--socket', fx.socketPath, ...args]);
      expect(r.code, args[0]).toBe(0);
      expect(rawControls(r.bytes), args[0]).toEqual([]);
      expect(r.stderr).not.toContain(ESC);
    }
  });

  it('--json is exact JSON that parses back to the very names, and carries no raw C1 or bidi character', async () => {
    const fx = await start();
    const r = await jitctl(['--socket', fx.socketPath, '--json', 'pending']);
    expect(r.code).toBe(0);
    expect(rawControls(r.bytes)).toEqual([]);
    const goals = (JSON.parse(r.stdout) as { goal: string }[]).map((x) => x.goal).sort();
    expect(goals).toEqual([EVIL, SPOOF, NEWLINE, BIDI, C1, 'COMPOSE_ME'].sort());
    expect(r.stdout).toContain('\\u202e');
    expect(r.stdout).toContain('\\u009b');
  });

  it('compose into a pipe writes the exact prompt, byte for byte (it is data); the warnings go to stderr', async () => {
    const fx = await start();
    const r = await jitctl(['--socket', fx.socketPath, 'compose', 'COMPOSE_ME']);
    expect(r.code).toBe(0);
    expect(r.bytes.toString('utf8')).toBe(CONTENT);
    expect(r.stderr).toContain('warning: persona missing.txt is missing');
    expect(r.stderr).not.toContain(ESC);
  });

  it('an error message quoting a hostile name is escaped on stderr', async () => {
    const fx = await start();
    const r = await jitctl(['--socket', fx.socketPath, 'compose', `NO${ESC}[2JSUCH\u202e`]);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toContain(ESC);
    expect(r.stderr).not.toContain('\u202e');
    expect(r.stderr).toMatch(/NO\\(e|u001b)\[2JSUCH\\u202e/);
  });
});
