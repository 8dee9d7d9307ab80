import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'web/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
    // The JSON report feeds the pass/fail line that .ci/run prints.
    reporters: ['default', 'json'],
    outputFile: { json: '.ci-output/vitest.json' },
  },
});
