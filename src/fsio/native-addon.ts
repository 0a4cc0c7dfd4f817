/**
 * Loads jitd's optional native addon (src/fsio/native/exchange.c: renameat2 exchange and the
 * socket's peer credentials), built by node-gyp when jitd is installed. Answers undefined where
 * it is not built; each caller then falls back (exchange.ts, ipc/peer-cred.ts).
 */
import { createRequire } from 'node:module';

/** What the addon exports; any may be missing in an addon built from an older source. */
export interface NativeAddon {
  exchange?: (a: string, b: string) => void;
  /** SO_PEERCRED of a Unix socket (an addon built before userName also answers `user`). */
  peerCred?: (fd: number) => { uid: number; gid: number; pid: number; user?: string };
  /** The user name of a uid through getpwuid_r (NSS), or undefined if it has none. */
  userName?: (uid: number) => string | undefined;
}

const require = createRequire(import.meta.url);

/** From src/fsio (tests run the sources) and from dist/fsio (the built daemon). */
export const ADDON_PATHS = ['./native/build/Release/exchange.node', '../../src/fsio/native/build/Release/exchange.node'];

/** The first addon that loads from `paths` (relative to this module), or undefined. */
export function loadNativeAddon(paths: readonly string[] = ADDON_PATHS): NativeAddon | undefined {
  for (const rel of paths) {
    try {
      return require(rel) as NativeAddon;
    } catch {
      // not built here; try the next place
    }
  }
  return undefined;
}

/** The addon as built, loaded once. */
export const nativeAddon: NativeAddon | undefined = loadNativeAddon();
