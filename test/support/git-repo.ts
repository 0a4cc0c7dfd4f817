/**
 * The real git for tests: runs `git` in a directory with a fixed identity and no user or system
 * configuration (so a developer's hooks, signing or aliases never change the outcome).
 */
import { execFile } from 'node:child_process';

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

const GIT_ENV = {
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Test Person',
  GIT_AUTHOR_EMAIL: 'person@example.invalid',
  GIT_COMMITTER_NAME: 'Test Person',
  GIT_COMMITTER_EMAIL: 'person@example.invalid',
  GIT_EDITOR: 'true',
  GIT_TERMINAL_PROMPT: '0',
};

/** Runs `git args…` in `cwd`; answers its exit code and output (never throws on a non-zero exit). */
export function gitIn(cwd: string, ...args: string[]): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, env: { ...process.env, ...GIT_ENV } }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
    });
  });
}

/** Runs git and fails the test with git's own message if it exits non-zero. */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  const r = await gitIn(cwd, ...args);
  if (r.code !== 0) throw new Error(`git ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** `git init` on branch main, with the state directory and socket ignored as a library would. */
export async function initRepo(dir: string, ignore: string[] = ['.jitd/']): Promise<void> {
  await git(dir, 'init', '-q', '-b', 'main');
  await git(dir, 'config', 'commit.gpgsign', 'false');
  if (ignore.length) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(`${dir}/.gitignore`, `${ignore.join('\n')}\n`);
  }
}
