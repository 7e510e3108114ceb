/** Unit and workflow tests run in parallel; end-to-end suites share ports and run alone (see package.json). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true }] },
  testMatch: ['**/*.test.ts'],
  testTimeout: 60_000,
};
