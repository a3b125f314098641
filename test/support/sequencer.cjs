// Jest's test sequencer (jest.config.js `testSequencer`): the longest suites start first.
//
// Why: the run ends when its last suite does. Jest's own sequencer starts the suites that took
// longest in its cache of earlier runs first, but CI runs in a fresh clone with no cache, where it
// falls back to file size, and a small file that takes a minute (a 30 s outage, a browser, a
// throwaway cluster) started last leaves the other worker idle until it ends. The cache is also
// one for both databases, whose suites take different times. So each suite's time on each database
// is written down in test/support/suite-durations.json (`npm run test:durations` rewrites it from
// a run's `--json` results), and a suite it does not list yet (a new one) falls back to jest's
// cache, then to starting first, as jest starts a suite it knows nothing about.
const path = require('node:path');
const Sequencer = require('@jest/test-sequencer').default;
const durations = require('./suite-durations.json');

const projectRoot = path.resolve(__dirname, '..', '..');

class LongestFirstSequencer extends Sequencer {
  // The database the run tests, as src/config/settings.ts decides it: DATABASE_URL or embedded PGlite.
  #declared = durations[process.env.DATABASE_URL ? 'postgres' : 'pglite'] ?? {};

  /** Milliseconds: the declared time of the suite on this run's database, else jest's cached one. */
  time(test) {
    const declared = this.#declared[path.relative(projectRoot, test.path).split(path.sep).join('/')];
    return declared ?? super.time(test);
  }
}

module.exports = LongestFirstSequencer;
