/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Transpile only (tsconfig's isolatedModules): `npm run typecheck` type-checks, so tests start fast.
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  // A console.error or console.warn (graphql-jit's dropped-variable line among them) fails the test.
  setupFilesAfterEnv: ['<rootDir>/test/support/fail-on-console-errors.ts'],
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  // Each file opens a database (and PGlite is a whole PostgreSQL in WASM): 2 workers fit 2 cores.
  maxWorkers: 2,
  // The longest suites first, by their times written down per database (test/support/sequencer.cjs):
  // a long suite started last would leave the other worker idle at the end of the run.
  testSequencer: '<rootDir>/test/support/sequencer.cjs',
  // A worker keeps what each suite's server and modules leave in its heap, and a large heap slows
  // every collection after it and the worker's own exit (test/support/worker-exit.cjs): jest
  // replaces a worker whose heap is over this after a suite.
  workerIdleMemoryLimit: '640MB',
  testTimeout: 120_000,
};
