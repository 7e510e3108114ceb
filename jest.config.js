/** One PostgreSQL per run (global setup); each test file makes its own database and task queues. */

// ESM-only packages that Fastify's plugins require; jest on Node 20 cannot require(esm), so they are compiled to CommonJS.
const ESM_PACKAGES = ['content-disposition', 'cookie'];

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: {
    // Types are checked once by `npm run typecheck`; here ts-jest only transpiles.
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
    [`node_modules/(${ESM_PACKAGES.join('|')})/.+\\.js$`]: ['ts-jest', { diagnostics: false, tsconfig: { allowJs: true, module: 'commonjs', target: 'ES2022', esModuleInterop: true } }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_PACKAGES.join('|')})/)`],
  testMatch: ['**/*.test.ts'],
  // The generated Prisma client imports its sibling .ts files with a .js suffix (ESM style).
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  testTimeout: 60_000,
};
