#!/usr/bin/env node
/**
 * The `jitd` entry point (production). All logic lives in src/daemon/main.ts; this file only
 * binds it to the process, with the real file system and no test hooks: it never reads the
 * JITD_TEST_* variables (those are for test/support/jitd-under-test.mjs alone).
 */
import { runJitdProcess } from '../daemon/main.js';

runJitdProcess();
