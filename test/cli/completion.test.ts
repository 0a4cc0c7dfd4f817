/**
 * `jitctl completion bash|zsh|fish`: each script passes its own shell's syntax check
 * (`bash -n`, `zsh -n`, `fish -n`), and is then run by that shell against a live daemon: it
 * completes command names, a command's options, `--state` values, and request ids read from
 * `jitctl --json pending` through the --socket the command line names. A shell that is not
 * installed is skipped, and the test says so.
 */
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requestId } from '../../src/requests/request.js';
import { MISSING_FILE, MISSING_GOAL, startDaemonFixture, type DaemonFixture } from '../support/daemon-fixture.js';
import { assertBuilt, JITCTL, jitctl } from './run-jitctl.js';

const MISSING_ID = requestId(MISSING_GOAL, 'protocol', MISSING_FILE);
const has = (shell: string) => spawnSync('sh', ['-c', `command -v ${shell}`]).status === 0;
const SHELL_PRESENT = { bash: has('bash'), zsh: has('zsh'), fish: has('fish') };

let bin: string;
let d: DaemonFixture | undefined;
beforeAll(() => {
  assertBuilt();
  // The scripts call plain `jitctl`: a wrapper for the built one, first on PATH.
  bin = mkdtempSync(join(tmpdir(), 'jitctl-compl-'));
  writeFileSync(join(bin, 'jitctl'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(JITCTL)} "$@"\n`);
  chmodSync(join(bin, 'jitctl'), 0o755);
  for (const [shell, present] of Object.entries(SHELL_PRESENT)) if (!present) console.warn(`completion: ${shell} is not installed; its checks are skipped`);
});
afterEach(async () => {
  await d?.close();
  d = undefined;
});
afterAll(() => rmSync(bin, { recursive: true, force: true }));

async function script(shell: string): Promise<string> {
  const r = await jitctl(['completion', shell]);
  expect(r.code, r.stderr).toBe(0);
  const file = join(bin, `completion.${shell}`);
  writeFileSync(file, r.stdout);
  return file;
}

/**
 * Runs `shell ARGS` with the wrapper on PATH and answers the candidates, one per line.
 * Asynchronous: the daemon under test lives in this process, and the script calls it.
 */
function run(shell: string, args: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, JITD_SOCKET: '', JITD_CONFIG: '', JITD_HOST: '' };
    execFile(shell, args, { encoding: 'utf8', env, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${shell} failed: ${err.message}\n${stderr}`));
      else resolve(stdout.split('\n').filter(Boolean));
    });
  });
}

describe('jitctl completion', () => {
  it('refuses an unknown shell with a usage error', async () => {
    const r = await jitctl(['completion', 'tcsh']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bash, zsh, fish');
  });

  it.skipIf(!SHELL_PRESENT.bash)('bash: passes bash -n, and completes commands, options, states and live request ids', async () => {
    const fx = (d = await startDaemonFixture());
    const file = await script('bash');
    expect(spawnSync('bash', ['-n', file]).status).toBe(0);
    const complete = (...words: string[]) =>
      run('bash', [
        '-c',
        `source ${file}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _jitctl; printf '%s\\n' "\${COMPREPLY[@]}"`,
      ]);
    expect(await complete('jitctl', '')).toEqual(expect.arrayContaining(['status', 'pending', 'answer', 'prompt', 'dial-stdio', 'completion']));
    expect(await complete('jitctl', 'pe')).toEqual(['pending']);
    expect(await complete('jitctl', 'pending', '--')).toEqual(expect.arrayContaining(['--state', '--json', '--host', '--socket']));
    expect(await complete('jitctl', 'pending', '--state', 'fa')).toEqual(['failed']);
    expect(await complete('jitctl', '--socket', fx.socketPath, 'answer', '')).toEqual([MISSING_ID]);
    expect(await complete('jitctl', '--socket', fx.socketPath, 'retry', '')).toEqual([]);
    expect(await complete('jitctl', 'completion', '')).toEqual(['bash', 'zsh', 'fish']);
  });

  it.skipIf(!SHELL_PRESENT.zsh)('zsh: passes zsh -n, and its completion function offers commands, options and live request ids', async () => {
    const fx = (d = await startDaemonFixture());
    const file = await script('zsh');
    expect(spawnSync('zsh', ['-n', file]).status).toBe(0);
    // Outside a real completion widget: stand-ins for compsys's compadd/_describe/_files/compdef print what would be offered.
    const stubs = [
      'compdef() { : }',
      '_files() { print -- FILES }',
      'compadd() { if [[ $1 == -a ]]; then print -l -- ${(P)2}; return; fi; [[ $1 == -S ]] && shift 2; [[ $1 == -- ]] && shift; print -l -- "$@" }',
      '_describe() { print -l -- ${${(P)2}%%:*} }',
    ].join('\n');
    const complete = (...words: string[]) =>
      run('zsh', [
        '-c',
        `${stubs}\nsource ${file}\nwords=(${words.map((w) => `'${w}'`).join(' ')}); CURRENT=${words.length}; PREFIX='${words.at(-1)}'; _jitctl`,
      ]);
    expect(await complete('jitctl', '')).toEqual(expect.arrayContaining(['status', 'pending', 'answer', 'completion']));
    expect(await complete('jitctl', 'prompt', '--')).toEqual(expect.arrayContaining(['--follow', '--json']));
    expect(await complete('jitctl', '--socket', fx.socketPath, 'answer', '')).toEqual([MISSING_ID]);
    expect(await complete('jitctl', '--socket', '')).toEqual(['FILES']);
  });

  it.skipIf(!SHELL_PRESENT.fish)('fish: passes fish -n, and `complete -C` offers commands, options and live request ids', async () => {
    const fx = (d = await startDaemonFixture());
    const file = await script('fish');
    expect(spawnSync('fish', ['-n', file]).status).toBe(0);
    const complete = async (line: string) =>
      (await run('fish', ['--no-config', '-c', `source ${file}; complete -C ${JSON.stringify(line)}`])).map((l) => l.split('\t')[0]);
    expect(await complete('jitctl ')).toEqual(expect.arrayContaining(['status', 'pending', 'answer', 'completion']));
    expect(await complete('jitctl pending --st')).toEqual(['--state']);
    expect(await complete('jitctl pending --state ')).toEqual(expect.arrayContaining(['waiting', 'failed']));
    expect(await complete(`jitctl --socket ${fx.socketPath} answer `)).toEqual([MISSING_ID]);
  });
});
