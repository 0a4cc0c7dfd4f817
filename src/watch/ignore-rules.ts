/**
 * What the watcher ignores: jitd's own temp files, editors' litter (vim `.swp`/`4913`, emacs
 * `.#x` and `x~`, `.tmp` saves) and everything under stateDir. Cookie files (for
 * `status --sync`) are the one kind of jitd file that is let through.
 */
import { basename } from 'node:path';
import { TEMP_PREFIX } from '../fsio/temp-files.js';
import { isInside } from '../library/paths.js';

/** Cookie files: written by `syncWatcher`, seen by the watcher, then removed. */
export const COOKIE_PREFIX = `${TEMP_PREFIX}cookie-`;

const EDITOR_LITTER = [/\.sw[a-p]x?$/, /~$/, /^4913$/, /^\.#/, /^#.*#$/, /\.tmp$/, /\.bak$/, /\.orig$/, /^\.goutputstream-/];

export function isCookie(path: string): boolean {
  return basename(path).startsWith(COOKIE_PREFIX);
}

export function isIgnored(path: string, stateDir: string): boolean {
  if (isInside(stateDir, path)) return true;
  const name = basename(path);
  if (name.startsWith(COOKIE_PREFIX)) return false;
  if (name.startsWith(TEMP_PREFIX)) return true;
  return EDITOR_LITTER.some((re) => re.test(name));
}
