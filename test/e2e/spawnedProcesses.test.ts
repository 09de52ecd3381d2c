import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../src/util/projectRoot.js';
import { waitUntil } from '../support/waitUntil.js';

// Every process a test file spawns (test/support/processes.ts) is killed, with what it started,
// once the file is done, whatever the outcome: a test that times out before its clean-up must not
// leave a server running for the rest of the suite (or after it).

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

it('kills the processes of a test that timed out, and their children', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bff-spawned-'));
  const pidsFile = join(dir, 'pids');
  let pids: number[] = [];
  try {
    const outcome = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const jest = execFile(
        process.execPath,
        [join(projectRoot(), 'node_modules/jest/bin/jest.js'), '--rootDir', projectRoot(), '--testMatch', '**/test/support/fixtures/leavesAProcess.fixture.ts', '--maxWorkers=1', '--forceExit'],
        { cwd: projectRoot(), env: { ...process.env, PIDS_FILE: pidsFile, NODE_OPTIONS: '--experimental-vm-modules' }, timeout: 240_000 },
        (error, stdout, stderr) => resolve({ code: (error as { code?: number } | null)?.code ?? 0, output: stdout + stderr }),
      );
      void jest;
    });
    // The fixture's test timed out, as intended.
    expect(outcome.output).toMatch(/Exceeded timeout of 2000 ms/);
    expect(outcome.code).not.toBe(0);
    pids = readFileSync(pidsFile, 'utf8').split(' ').map(Number);
    expect(pids).toHaveLength(2);
    // Both the process and the one it started are gone (a zombie's reaping may lag a moment).
    await waitUntil(() => pids.every((pid) => !alive(pid)), { timeoutMs: 10_000, what: `processes ${pids.join(', ')} to be gone` });
  } finally {
    // Whatever the verdict, nothing of the fixture's outlives this test.
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}, 300_000);
