/**
 * Message `reconcile`: run a full reconcile now and answer a summary of what it did. The same
 * summary shape is `status.lastReconcile`.
 */
import { z } from 'zod';

export const ReconcileParams = z.strictObject({});
export type ReconcileParams = z.input<typeof ReconcileParams>;

/** Paths are listed up to a bound; the counts are always exact. */
export interface ReconcileSummary {
  at: string;
  tempsRemoved: number;
  rolledForward: number;
  created: number;
  resolvedByPerson: number;
  reopened: number;
  withdrawn: number;
  orphans: { quarantined: number; deleted: number; kept: number; unreferenced: number };
  refusedDirs: string[];
  /** Type directories that could not be read (`<path> (<errno>)`); their entries were left alone. */
  unreadableDirs: string[];
  toGenerate: number;
  retryLater: number;
  /** Why the reconcile stopped after reading the map, if it did. */
  mapError: string | null;
  /** Generated files the map names again, restored from quarantine or a kept output. */
  restored: string[];
  /** Why library writes were left for later (the library's git repository is busy), or null. */
  held: string | null;
  /** Where a stale seed-era map temp was moved, or null. */
  seedTempQuarantined: string | null;
  /** Up to 50 paths per kind, for people. */
  paths: {
    tempsRemoved: string[];
    rolledForward: string[];
    quarantined: string[];
    deleted: string[];
    kept: string[];
    unreferenced: string[];
  };
}

export type ReconcileResult = ReconcileSummary;
