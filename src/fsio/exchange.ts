/**
 * The optional native helper for renameat2(RENAME_EXCHANGE) (src/fsio/native/exchange.c), built
 * by node-gyp when jitd is installed. Answers undefined where it is not built or the kernel lacks
 * the call: callers then use the guarded rename of node-fs.ts instead.
 */
import { createRequire } from 'node:module';

/** Atomically swaps two existing paths; throws an errno-coded Error. */
export type ExchangeFn = (a: string, b: string) => void;

const require = createRequire(import.meta.url);

function load(): ExchangeFn | undefined {
  // From src/fsio (tests run the sources) and from dist/fsio (the built daemon).
  for (const rel of ['./native/build/Release/exchange.node', '../../src/fsio/native/build/Release/exchange.node']) {
    try {
      const mod = require(rel) as { exchange?: ExchangeFn };
      if (typeof mod.exchange === 'function') return mod.exchange;
    } catch {
      // not built here; try the next place
    }
  }
  return undefined;
}

/** The helper, or undefined (see the module header). */
export const exchangeSync: ExchangeFn | undefined = load();
