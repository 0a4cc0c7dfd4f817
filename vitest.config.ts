import { defineConfig } from 'vitest/config';

// Tests start real processes and real sockets; 2 cores is the target machine, so keep
// parallelism modest and timeouts generous (no test asserts on timing).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
