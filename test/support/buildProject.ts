import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../src/util/projectRoot.js';

/**
 * dist/ up to date, as `npm start` brings it (src/runBuilt.mjs: compiled only when a source changed
 * since the last build, without type checks: `npm run typecheck` does those), one at a time across
 * jest workers: two tsc runs at once would write the same files under `dist/` while another test
 * file's processes read them. Ten test files call this: only the first of a run compiles, if anything.
 */
export async function buildProject(): Promise<void> {
  const lock = join(projectRoot(), 'dist', '.build-lock');
  mkdirSync(join(projectRoot(), 'dist'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A lock older than any build is left over from a killed run.
      const held = statSync(lock, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > 300_000) rmSync(lock, { recursive: true, force: true });
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  try {
    await promisify(execFile)(process.execPath, ['src/runBuilt.mjs', '--build'], { cwd: projectRoot(), timeout: 180_000 });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
