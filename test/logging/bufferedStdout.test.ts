import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../src/util/projectRoot.js';
import { buildProject } from '../support/buildProject.js';

// The default destination holds log lines back (4 KB batches, at most 250 ms): none may be lost
// or reordered when the process ends, whichever way it ends, and a quiet process still writes
// its last line soon. Run in a process of its own, with stdout a pipe, as a log collector reads it.

const logger = join(projectRoot(), 'dist/src/logging/createLogger.js');

const children: ReturnType<typeof spawn>[] = [];
afterAll(() => children.forEach((child) => child.exitCode === null && child.kill('SIGKILL')));

/** A node process that logs `count` lines (`{ i }`) to the default destination, then does `then`. */
function run(count: number, then: string) {
  const script = `import { createLogger } from ${JSON.stringify(logger)};
const log = createLogger({ level: 'info' });
for (let i = 0; i < ${count}; i++) log.info({ i }, 'line');
${then}`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  return { child, exited, output: () => out };
}

const numbersOf = (out: string) => out.split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { i: number }).i);
const upTo = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('the default log destination (stdout, buffered)', () => {
  beforeAll(buildProject, 200_000);

  it.each([
    ['process.exit', 5, 'process.exit(0);'],
    ['process.exit', 20_000, 'process.exit(0);'],
    ['the end of its work', 5, ''],
    ['the end of its work', 20_000, ''],
    ['an uncaught exception', 5, "throw new Error('boom');"],
  ])('writes every line, in order, at %s (%i lines)', async (_, count, then) => {
    const { exited, output } = run(count, then);
    await exited;
    expect(numbersOf(output())).toEqual(upTo(count));
  });

  it('writes a line of a process that has gone quiet without waiting for more', async () => {
    const { child, output } = run(3, 'setTimeout(() => {}, 60_000);');
    try {
      await new Promise<void>((resolve) => {
        const check = () => numbersOf(output()).length === 3 && resolve();
        child.stdout.on('data', check);
        check();
      });
      expect(numbersOf(output())).toEqual(upTo(3));
    } finally {
      child.kill('SIGKILL');
    }
  });
});
