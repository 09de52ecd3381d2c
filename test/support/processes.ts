import { spawn, type ChildProcess } from 'node:child_process';
import { projectRoot } from '../../src/util/projectRoot.js';

import { serviceEnvName, serviceNames, type ServiceName } from '../../src/services/downstreamServices.js';
import { freePort } from '../../src/util/freePort.js';

export { freePort };

/**
 * The process groups of the processes started here that have not exited yet. The test environment
 * (test/support/testEnvironment.cjs) kills what is left in it once the test file is done, so a
 * test that timed out or threw before its own clean-up leaves no server running.
 */
const spawnedGroups: Set<number> = ((globalThis as { __spawnedProcessGroups?: Set<number> }).__spawnedProcessGroups ??= new Set());

// The worker may also end without tearing the environment down (forceExit, a crash).
process.once('exit', () => {
  for (const pid of spawnedGroups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
});

export interface RunningProcess {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the first match of `pattern` in the output; rejects if the process exits first or after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/**
 * Starts `node <script> ...args` from `cwd` (the project root) with `env` added to a clean environment.
 * Load shedding is off unless `env` sets OVERLOAD_EVENT_LOOP_DELAY_MS: on a busy machine the
 * process's event loop lags and it would refuse the test's own requests with 503.
 */
export function startNode(script: string, args: string[], env: Record<string, string | undefined>, { cwd = projectRoot() }: { cwd?: string } = {}): RunningProcess {
  const baseEnv = { ...process.env };
  for (const key of ['DATABASE_URL', 'REDIS_URL', 'NODE_ENV', 'NODE_OPTIONS', 'PORT', ...serviceNames.map((name) => serviceEnvName(name, 'URL'))]) delete baseEnv[key];
  // `detached`: the child leads a process group of its own, so that killing the group takes anything it started too.
  const child = spawn(process.execPath, [script, ...args], { cwd, env: { ...baseEnv, OVERLOAD_EVENT_LOOP_DELAY_MS: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const group = child.pid;
  if (group !== undefined) {
    spawnedGroups.add(group);
    child.once('exit', () => spawnedGroups.delete(group));
  }
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    for (const l of listeners) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    exited,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = out.match(pattern);
          if (match) {
            cleanup();
            resolve(match);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${pattern}; output:\n${out}`));
        }, timeoutMs);
        const onExit = () => {
          cleanup();
          reject(new Error(`process exited before ${pattern}; output:\n${out}`));
        };
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('exit', onExit);
        };
        listeners.add(check);
        child.once('exit', onExit);
        check();
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/**
 * The reference services as their own process (`node dist/src/services/main.js --seed`) on free
 * ports, once listening; `serviceEnv` points a BFF at them.
 */
export async function startServicesProcess(env: Record<string, string | undefined>) {
  const ports = {} as Record<ServiceName, number>;
  for (const name of serviceNames) ports[name] = await freePort();
  const portEnv = Object.fromEntries(serviceNames.map((name) => [serviceEnvName(name, 'PORT'), String(ports[name])]));
  const services = startNode('dist/src/services/main.js', ['--seed'], { ...env, ...portEnv });
  await Promise.all(serviceNames.map((name) => services.waitFor(new RegExp(`${name} service listening`))));
  const urls = Object.fromEntries(serviceNames.map((name) => [name, `http://127.0.0.1:${ports[name]}`])) as Record<ServiceName, string>;
  return { services, urls, serviceEnv: Object.fromEntries(serviceNames.map((name) => [serviceEnvName(name, 'URL'), urls[name]])) };
}
