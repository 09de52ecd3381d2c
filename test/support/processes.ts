import { spawn, type ChildProcess } from 'node:child_process';
import { projectRoot } from '../../src/util/projectRoot.js';

import { freePort } from '../../src/util/freePort.js';

export { freePort };

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
 * Starts `node <script> ...args` from the project root with `env` added to a clean environment.
 * Load shedding is off unless `env` sets OVERLOAD_EVENT_LOOP_DELAY_MS: on a busy machine the
 * process's event loop lags and it would refuse the test's own requests with 503.
 */
export function startNode(script: string, args: string[], env: Record<string, string | undefined>): RunningProcess {
  const baseEnv = { ...process.env };
  for (const key of ['DATABASE_URL', 'REDIS_URL', 'NODE_ENV', 'NODE_OPTIONS', 'PORT', 'USERS_URL', 'CATALOG_URL', 'ORDERS_URL']) delete baseEnv[key];
  const child = spawn(process.execPath, [script, ...args], { cwd: projectRoot(), env: { ...baseEnv, OVERLOAD_EVENT_LOOP_DELAY_MS: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
  const ports = { users: await freePort(), catalog: await freePort(), orders: await freePort() };
  const services = startNode('dist/src/services/main.js', ['--seed'], { ...env, USERS_PORT: String(ports.users), CATALOG_PORT: String(ports.catalog), ORDERS_PORT: String(ports.orders) });
  await services.waitFor(/orders service listening/);
  const urls = { users: `http://127.0.0.1:${ports.users}`, catalog: `http://127.0.0.1:${ports.catalog}`, orders: `http://127.0.0.1:${ports.orders}` };
  return { services, urls, serviceEnv: { USERS_URL: urls.users, CATALOG_URL: urls.catalog, ORDERS_URL: urls.orders } };
}
