import { defineConfig } from 'vitest/config';

// Two projects: pure unit tests need nothing; integration tests get real Kafka, schema registry
// and ClickHouse from the global setup (started once per run).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{schemas,infra,services/*}/src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['**/*.integration.test.ts', '**/node_modules/**'],
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
    ],
  },
});
