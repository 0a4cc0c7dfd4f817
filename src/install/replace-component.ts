/**
 * Replacing an installed generated component with a newer candidate (a regeneration or an
 * approved draft of a done request; docs/install-protocol.md, "Replacing a component"). The map
 * does not change: the file the map names gets new content by a durable put (invariant 5).
 *
 * Invariant 4 for components: jitd never overwrites a generated file a person has edited since
 * jitd wrote it. The file's text must still hash to what jitd last wrote (`expectSha256`); that
 * is checked first, and again just before the rename (a guarded publish: the identity read with
 * the text must still be the file's at the exchange), so a save that lands between the two is
 * never replaced unseen. Otherwise nothing is written and the caller keeps the person's version.
 */
import { createHash } from 'node:crypto';
import { durablePut } from '../fsio/durable-put.js';
import { TargetChangedError } from '../fsio/errors.js';
import { lstatOrNull, readFileOrNull, type FsLayer } from '../fsio/fs-layer.js';
import { componentPath, escapesRoot, UnsafePathError } from '../library/paths.js';

export const sha256 = (text: string | Buffer): string => createHash('sha256').update(text).digest('hex');

/** What a replacement did. */
export type ReplaceOutcome =
  /** The new text is published and durable. */
  | { result: 'replaced'; path: string }
  /** The file already holds the new text (a restart after the rename). */
  | { result: 'already'; path: string }
  /** A person's version is there (edited, or the file is gone): nothing was written. */
  | { result: 'edited'; path: string; current: string | undefined };

/** Thrown inside the guarded publish when the file is no longer jitd's text. */
class EditedMeanwhile extends Error {}

/** The file's text and the identity it had while read (undefined: gone, or changing under the read). */
async function readStable(fs: FsLayer, path: string): Promise<{ text: Buffer; identity: string } | undefined> {
  const before = await lstatOrNull(fs, path);
  if (before?.kind !== 'file') return undefined;
  const text = await readFileOrNull(fs, path);
  const after = await lstatOrNull(fs, path);
  if (!text || after?.identity !== before.identity) return undefined;
  return { text, identity: after.identity };
}

/**
 * Replaces `<componentsDir>/<type>s/<name>` by `content` if its text still hashes to
 * `expectSha256` (undefined: jitd does not know what it wrote, so nothing is overwritten).
 */
export async function replaceComponent(
  fs: FsLayer,
  componentsDir: string,
  type: string,
  name: string,
  content: string,
  expectSha256: string | undefined,
): Promise<ReplaceOutcome> {
  const path = componentPath(componentsDir, type, name);
  const escape = await escapesRoot(fs, componentsDir, path);
  if (escape) throw new UnsafePathError(escape);
  const now = await readStable(fs, path);
  const edited = async (): Promise<ReplaceOutcome> => ({ result: 'edited', path, current: (await readFileOrNull(fs, path))?.toString('utf8') });
  if (now && sha256(now.text) === sha256(content)) return { result: 'already', path };
  // Stryker: `expectSha256 === undefined` → false is equivalent — no sha256 equals undefined, so
  // the last test answers edited() all the same; the test names the case jitd means.
  if (!now || expectSha256 === undefined || sha256(now.text) !== expectSha256) return edited();
  try {
    const kept = await durablePut(fs, path, content, {
      mode: 'replace',
      fileMode: 0o644,
      beforePublish: async () => {
        // Re-checked with the temp durable: a save since the first look wins.
        const again = await readStable(fs, path);
        if (!again || sha256(again.text) !== expectSha256) throw new EditedMeanwhile();
        return again.identity;
      },
    });
    // Stryker: `kept?.` → `kept.` is equivalent — a guarded put (beforePublish answers an
    // identity) always answers what it replaced; `kept` inside it may be undefined (tested).
    await kept?.kept?.close().catch(() => undefined);
    return { result: 'replaced', path };
  } catch (err) {
    if (err instanceof EditedMeanwhile || err instanceof TargetChangedError) return edited();
    throw err;
  }
}
