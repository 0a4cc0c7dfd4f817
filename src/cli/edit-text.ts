/**
 * Editing a request's text in the person's editor, as `git commit` does: the text goes to a
 * temp file, `$VISUAL`, else `$EDITOR`, else `vi` runs on it through `sh -c` (so `code --wait`
 * works) with the terminal inherited, and jitctl waits. A file left empty or unchanged aborts
 * (nothing is sent); otherwise the saved text goes to the daemon as the new candidate and draft.
 * Shared by `jitctl edit` and `jitctl prompt`.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ControlClient } from '../ipc/client.js';
import { REQUEST_STATES, type RequestView } from '../requests/request.js';

/** An edit that saved nothing: the editor failed, or left the file empty or unchanged. */
export class EditAborted extends Error {
  override name = 'EditAborted';
}

/** The editor command, as git picks it. */
export function editorOf(env: NodeJS.ProcessEnv): string {
  return env.VISUAL?.trim() || env.EDITOR?.trim() || 'vi';
}

function runEditor(editor: string, file: string, env: NodeJS.ProcessEnv): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', `${editor} "$@"`, editor, file], { stdio: 'inherit', env });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(signal ? 128 : code));
  });
}

/**
 * Opens request `id`'s text (its draft, or its installed component) in the editor and saves the
 * result as the new draft. `around` wraps the editor's run (prompt hands the terminal over).
 * Throws {@link EditAborted} when nothing is saved.
 */
export async function editInEditor(
  client: ControlClient,
  id: string,
  env: NodeJS.ProcessEnv,
  around: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn(),
): Promise<{ request: RequestView; candidate: number }> {
  const current = await client.call('edit', { id });
  const r = current.request;
  const dir = await mkdtemp(join(tmpdir(), 'jitctl-edit-'));
  try {
    const file = join(dir, `${r.id}-${r.generatedName.replace(/[^A-Za-z0-9._-]/g, '_')}`);
    await writeFile(file, current.text ?? '', { mode: 0o600 });
    const editor = editorOf(env);
    const code = await around(() => runEditor(editor, file, env));
    if (code !== 0) throw new EditAborted(`the editor (${editor}) exited with ${code}; nothing saved`);
    const text = await readFile(file, 'utf8');
    if (!text.trim()) throw new EditAborted('edit aborted: the file is empty; nothing saved');
    if (text === current.text) throw new EditAborted('edit aborted: the text is unchanged; nothing saved');
    const saved = await client.call('edit', { id: r.id, text });
    return { request: saved.request, candidate: saved.candidate ?? 0 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Polls until request `id`'s regeneration is over (a new draft, a replacement or a failure); answers its view then. */
export async function awaitRegeneration(client: ControlClient, id: string, timeoutMs = 600_000): Promise<RequestView | undefined> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const page = await client.call('pending', { ids: [id], states: [...REQUEST_STATES] });
    const r = page.requests[0];
    if (!r?.regenerating || Date.now() > end) return r;
    await new Promise((res) => setTimeout(res, 150));
  }
}
