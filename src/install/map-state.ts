/**
 * The map as jitd last read it, in one place. The daemon's engine holds one MapState; status,
 * compose, the generation context, the install queue, the reconcile and every sync read the
 * map, and report its trouble, through it. It owns:
 *
 * - **read-if-changed**: on every hint the map's bytes are read; they are parsed only when their
 *   hash differs from the last parse's (map-file.ts `readMapIfChanged`);
 * - **the last good parse**: kept while the map does not parse (a save half-written, a person's
 *   typo), so status, compose and installs go on from it (contract §5: a map that does not
 *   parse is reported, never "repaired");
 * - **the map error and the write error** (status `mapError`, `writeError`): set and cleared only
 *   here, each change reported once through {@link MapStateEvents};
 * - **jitd's own writes** (contract §4.4: a person's save always wins, so only a write jitd can
 *   prove is its own is skipped): the map bytes it wrote, so the watcher's event for them plans
 *   nothing — provided nothing else was planned since —, and the components it is about to
 *   create or remove, so their events set off no full sync.
 */
import type { FsLayer } from '../fsio/fs-layer.js';
import { parseGoalMap, type ParsedMap } from '../library/goal-map.js';
import { mapHash, readMapBytes, type MapSnapshot } from './map-file.js';

/** How MapState reports a change of state (the engine logs them and emits events). */
export interface MapStateEvents {
  /** The map became unusable, or its reason changed (not repeated for the same message). */
  mapError?(message: string): void;
  /** The map is usable again after an error. */
  mapOk?(goals: number): void;
  /** A fresh parse skipped entries (problems), reported with the parse that found them. */
  problems?(problems: ParsedMap['problems']): void;
  /** A library write failed (every failure; the next hint or rescan retries). */
  writeError?(what: string, err: unknown, message: string): void;
}

/** What a read of the map found: a usable parse (fresh or reused), or why not. */
export type MapRead = { ok: true; map: ParsedMap; sha256: string } | { ok: false; error: string };

/** Where jitd notes a component it is about to create (`present`) or remove, before it does. */
export type NoteComponentWrite = (typeDirName: string, name: string, present: boolean) => void;

/** How long a noted component write waits for its watcher event (later, the event is a hint like any other). */
export const OWN_COMPONENT_TTL_MS = 10_000;

export class MapState {
  private parsed: MapSnapshot['map'] | undefined;
  private hash: string | undefined;
  private error: string | undefined;
  private failedWrite: string | undefined;
  /** Hash of the map the last full plan ran on. */
  private plannedHash: string | undefined;
  /** Hash of jitd's own last write, if made on top of the map last planned; and of the map it was made on. */
  private ownWriteOnPlanned: string | undefined;
  private ownWriteBase: string | undefined;
  private readonly syncs = { planned: 0, ownWriteSkipped: 0 };
  /** Components jitd is creating or removing: `<type>s/<name>` → the presences expected, oldest first. */
  private readonly ownComponents = new Map<string, { present: boolean; until: number }[]>();
  /** When notes no event used up are next dropped (once per TTL, not per note: a reconcile may note thousands). */
  private nextExpiry = 0;

  constructor(
    private readonly fs: FsLayer,
    private readonly mapFile: string,
    private readonly on: MapStateEvents = {},
  ) {}

  /** The last good parse (kept while the map is unusable), or undefined before the first. */
  get map(): ParsedMap | undefined {
    return this.parsed;
  }
  /** Why the map is unusable right now, or undefined. */
  get mapError(): string | undefined {
    return this.error;
  }
  /** The last failure to write the library, until a later write succeeds. */
  get writeError(): string | undefined {
    return this.failedWrite;
  }
  /** True if there is a parse and the map on disk was usable when last read. */
  get usable(): boolean {
    return this.parsed !== undefined && this.error === undefined;
  }
  /** The last parse with the hash of its bytes: an install reuses it if the map is unchanged. */
  known(): { sha256: string; map: ParsedMap } | undefined {
    // Stryker: `&&` → `||` is equivalent — the parse and its hash are always set together.
    return this.parsed && this.hash ? { sha256: this.hash, map: this.parsed } : undefined;
  }
  /** Full plans of the map, and map hints skipped as jitd's own write (status `mapSyncs`). */
  stats(): { planned: number; ownWriteSkipped: number } {
    return { ...this.syncs };
  }

  /** Reads the map (parsing only changed bytes); an unusable map is recorded, never thrown. */
  async read(): Promise<MapRead> {
    try {
      const snap = await this.snapshot();
      return { ok: true, map: snap.map, sha256: this.hash as string };
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  }

  /**
   * Reads the map as {@link read} does, answering its bytes too; throws MapUnavailableError or
   * MapParseError after recording it (the reconcile stops on it).
   */
  async snapshot(): Promise<MapSnapshot> {
    let bytes: Buffer;
    let sha256: string;
    let map: ParsedMap;
    try {
      bytes = await readMapBytes(this.fs, this.mapFile);
      sha256 = mapHash(bytes);
      map = sha256 === this.hash && this.parsed ? this.parsed : parseGoalMap(bytes.toString('utf8'));
    } catch (err) {
      this.unusable((err as Error).message);
      throw err;
    }
    if (map !== this.parsed) {
      this.parsed = map;
      this.hash = sha256;
      if (map.problems.length) this.on.problems?.(map.problems);
    }
    if (this.error !== undefined) {
      this.error = undefined;
      this.on.mapOk?.(map.goals);
    }
    return { bytes, map };
  }

  /** The map could not be read or parsed by someone else (an install): recorded, the last parse kept. */
  unusable(message: string): void {
    if (this.error !== message) this.on.mapError?.(message);
    this.error = message;
  }

  /**
   * Bytes jitd is about to write to the map, their parse and the bytes they were made from (the
   * `beforeWrite` of map-commit.ts): they become the map as last read, so the watcher's event for
   * them reads identical bytes and parses nothing.
   */
  readonly noteOwnWrite = (bytes: Buffer, parsed?: ParsedMap, base?: Buffer): void => {
    this.hash = mapHash(bytes);
    this.parsed = parsed ?? parseGoalMap(bytes.toString('utf8'));
    // Made on top of the map last planned, it holds nothing to plan: its only change is jitd's
    // own repoint, which the writer accounts for. (On top of a person's unplanned save, it does.)
    this.ownWriteBase = base !== undefined ? mapHash(base) : undefined;
    this.ownWriteOnPlanned = this.ownWriteBase !== undefined && this.ownWriteBase === this.plannedHash ? this.hash : undefined;
  };

  /**
   * Whether the map just read (`sha256`) must be planned in full; records it as planned. Not if
   * it is jitd's own write on top of the map last planned and nothing else was planned since
   * (the same bytes coming back later — a git checkout restoring the commit of jitd's write — are
   * a person's change), unless `force` (something besides the map changed).
   */
  mustPlan(sha256: string, force: boolean): boolean {
    const own = !force && sha256 === this.ownWriteOnPlanned && (this.plannedHash === this.ownWriteBase || this.plannedHash === sha256);
    this.plannedHash = sha256;
    if (own) this.syncs.ownWriteSkipped++;
    else this.syncs.planned++;
    return !own;
  }

  /** A write to the library failed: reported, kept for status until a write succeeds. */
  writeFailed(what: string, err: unknown): void {
    const message = (err as Error)?.message ?? String(err);
    this.failedWrite = message;
    this.on.writeError?.(what, err, message);
  }
  /** A write to the library went through: an earlier write error is over. */
  writeOk(): void {
    this.failedWrite = undefined;
  }

  /** Notes a component jitd is about to create (`present`) or remove ({@link NoteComponentWrite}). */
  readonly noteComponent: NoteComponentWrite = (typeDirName, name, present) => {
    const now = Date.now();
    if (now >= this.nextExpiry) {
      for (const [key, notes] of this.ownComponents) if (!live(notes, now).length) this.ownComponents.delete(key);
      this.nextExpiry = now + OWN_COMPONENT_TTL_MS;
    }
    const key = `${typeDirName}/${name}`;
    const notes = this.ownComponents.get(key) ?? [];
    notes.push({ present, until: now + OWN_COMPONENT_TTL_MS });
    this.ownComponents.set(key, notes);
  };

  /**
   * True if a watcher event (`<typeDirName>/<name>` now `present` or not) is one jitd noted it
   * would cause: the note is used up (with any older ones for the file, which the event covers).
   */
  isOwnComponent(typeDirName: string, name: string, present: boolean): boolean {
    const key = `${typeDirName}/${name}`;
    const notes = this.ownComponents.get(key);
    if (!notes) return false;
    const at = live(notes, Date.now()).findIndex((n) => n.present === present);
    // Stryker: `if (at >= 0)` → true is equivalent — at -1 it is splice(0, 0), which removes nothing.
    if (at >= 0) notes.splice(0, at + 1);
    if (!notes.length) this.ownComponents.delete(key);
    return at >= 0;
  }
}

/** Drops the expired notes at the front of `notes` (they are in time order); answers `notes`. */
function live<T extends { until: number }>(notes: T[], now: number): T[] {
  let n = 0;
  while (n < notes.length && (notes[n] as T).until <= now) n++;
  // Stryker: `if (n)` → true is equivalent — splice(0, 0) removes nothing.
  if (n) notes.splice(0, n);
  return notes;
}
