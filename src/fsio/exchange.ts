/**
 * The optional native helper for renameat2(RENAME_EXCHANGE) (src/fsio/native/exchange.c), built
 * by node-gyp when jitd is installed. Answers undefined where it is not built or the kernel lacks
 * the call: callers then use the guarded rename of node-fs.ts instead.
 */
import { nativeAddon } from './native-addon.js';

/** Atomically swaps two existing paths; throws an errno-coded Error. */
export type ExchangeFn = (a: string, b: string) => void;

/** The helper, or undefined (see the module header). */
export const exchangeSync: ExchangeFn | undefined = typeof nativeAddon?.exchange === 'function' ? nativeAddon.exchange : undefined;
