/** One PostgreSQL per run (global setup); each test file makes its own database and task queues. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  // Types are checked once by `npm run typecheck`; here ts-jest only transpiles.
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  testMatch: ['**/*.test.ts'],
  // The generated Prisma client imports its sibling .ts files with a .js suffix (ESM style).
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  testTimeout: 60_000,
};
