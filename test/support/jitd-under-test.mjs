#!/usr/bin/env node
/**
 * jitd for tests: the built daemon (dist/), exactly as dist/bin/jitd.js runs it, except that
 * its file system goes through test hooks built from the environment:
 *   JITD_TEST_CRASH_AT=before:fsync:map#1   SIGKILLs it at that step (fault-fs),
 *   JITD_TEST_FAULT=write:map#1=ENOSPC     injects faults (fault-fs),
 *   JITD_TEST_TRACE=FILE                   appends every step name to FILE (fault-fs),
 *   JITD_TEST_SLOW_READDIR_MS=N            delays every readdir by N ms (a slow start-up).
 * The production bin never reads these variables; only this file hands them to the daemon.
 *
 *   node test/support/jitd-under-test.mjs --config FILE
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { runJitdProcess } from '../../dist/daemon/main.js';
import { faultFsFromEnv, libraryClassifier } from '../../dist-test/test/support/fault-fs.js';

const slowMs = Number(process.env.JITD_TEST_SLOW_READDIR_MS ?? 0);

/** `fs` with every readdir delayed, so the start-up reconcile takes long enough to signal it. */
const slowed = (fs) =>
  slowMs > 0
    ? {
        ...fs,
        readdir: async (path) => {
          await sleep(slowMs);
          return fs.readdir(path);
        },
      }
    : fs;

runJitdProcess({
  wrapFs: (fs, config) => faultFsFromEnv(slowed(fs), process.env, { classify: libraryClassifier(config) }),
});
