import { defineConfig } from 'vitest/config'

// Two projects: fast unit tests, and integration tests that start a real Palisade
// (embedded ClickHouse through chDB) or read whole corpora. Both run under `npm test`.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.integration.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.integration.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // chDB is one engine per process and per data path: keep integration files in
          // their own forked processes, one at a time on this 2-core machine.
          pool: 'forks',
          fileParallelism: false,
        },
      },
    ],
  },
})
