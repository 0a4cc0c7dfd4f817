/**
 * Page cursors of the listing messages (`pending`, `history`): the sort key of a page's last
 * request, `[time, id]`, base64url-encoded. A key rather than an offset keeps pages consistent
 * while requests come and go between two calls: nothing is listed twice, nothing skipped that
 * was there all along.
 */
import { JitdError } from '../../fsio/errors.js';

/** A page ends at `limit` entries or once its JSON passes this many bytes (~1 MiB), whichever comes first. */
export const PAGE_BYTES = 1024 * 1024;

/** The cursor for a request whose sort key is `[time, id]`. */
export const cursorOf = (time: string, id: string): string => Buffer.from(JSON.stringify([time, id])).toString('base64url');

/** The `[time, id]` key of a cursor; throws EINVALID (naming `method`) for anything else. */
export function parseCursor(cursor: string, method: string): [string, string] {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string') return [v[0], v[1]];
  } catch {
    // fall through
  }
  throw new JitdError('EINVALID', `params.after: not a cursor returned by ${method}`);
}

/** Compares two `[time, id]` keys ascending. */
export function compareKeys(a: readonly [string, string], b: readonly [string, string]): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
}
