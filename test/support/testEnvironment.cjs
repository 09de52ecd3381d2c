// The jest environment of every test file (package.json "testEnvironment"): Node's, plus a
// guarantee that no process a test file spawned outlives it. test/support/processes.ts records the
// process group of everything it starts in `__spawnedProcessGroups`; after the file is done —
// after every test and hook, including a test that timed out before its own clean-up — what is
// still there is killed, with whatever it started in turn. (CommonJS: jest loads environments
// untransformed.)
const { TestEnvironment } = require('jest-environment-node');

class KillSpawnedProcessesEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.global.__spawnedProcessGroups = new Set();
  }

  async teardown() {
    for (const pid of this.global.__spawnedProcessGroups) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    this.global.__spawnedProcessGroups.clear();
    await super.teardown();
  }
}

module.exports = KillSpawnedProcessesEnvironment;
