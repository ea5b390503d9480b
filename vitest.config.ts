import { defineConfig } from 'vitest/config';

const long = process.env.OMT_LONG === '1';

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources (the `omt-source` export condition).
    conditions: ['omt-source'],
  },
  ssr: { resolve: { conditions: ['omt-source'] } },
  test: {
    include: long
      ? ['packages/*/test/**/*.long.test.ts']
      : ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    exclude: long ? [] : ['**/*.long.test.ts', '**/node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
