import { defineConfig } from 'vitest/config';

// Three projects: pure unit tests need nothing; integration tests get real Kafka, schema registry
// and ClickHouse from the global setup (started once per run); the fault suite (`npm run
// test:faults`) runs on the same infrastructure and prints a table of what each fault lost.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{schemas,infra,services/*}/src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['**/*.integration.test.ts', '**/*.fault.test.ts', '**/node_modules/**'],
          // Property tests run hundreds of cases: a shared, loaded machine must not fail them on time.
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['**/*.integration.test.ts'],
          exclude: ['**/node_modules/**'],
          globalSetup: ['test/global-setup.ts'],
          // chDB opens one data directory per process: every test file runs in its own process.
          pool: 'forks',
          isolate: true,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'faults',
          include: ['test/faults/**/*.fault.test.ts'],
          exclude: ['**/node_modules/**'],
          globalSetup: ['test/global-setup.ts', 'test/faults/report.ts'],
          pool: 'forks',
          isolate: true,
          // One fault at a time: they time outages and kills, and would skew each other's timing.
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
