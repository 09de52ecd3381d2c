import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { projectRoot } from '../../src/util/projectRoot.js';

/**
 * The node flags `npm start` gives the BFF (package.json's `start`: `node <flags> src/runBuilt.mjs …`),
 * so that the benchmark's BFF runs as `npm start` and the image (its `NODE_OPTIONS`) run it.
 */
export function startScriptNodeFlags(): string[] {
  const start = (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start!;
  const [node, ...rest] = start.split(/\s+/);
  if (node !== 'node') throw new Error(`package.json's start script does not run node: ${start}`);
  const flags: string[] = [];
  for (const token of rest) {
    if (!token.startsWith('--')) break;
    flags.push(token);
  }
  return flags;
}

/** Whether server and load generator can get a core each (Linux with `taskset` and ≥ 2 cores). */
export const canPin = availableParallelism() >= 2 && spawnSync('taskset', ['-V']).status === 0;

/** The core a server process runs on, and the one this process (the load generator) and the downstream process run on. */
export const SERVER_CORE = 1;
export const LOAD_CORE = 0;

/** Pins this process (autocannon runs in it) to the load generator's core. */
export function pinSelf(): void {
  if (canPin) spawnSync('taskset', ['-a', '-p', '-c', String(LOAD_CORE), String(process.pid)], { stdio: 'ignore' });
}

export interface Child {
  pid: number;
  /** Where its stdout and stderr go (a file, as a log collector would read them). */
  logFile: string;
  stop(): Promise<void>;
}

/**
 * Starts `node <script> ...args` from the project root on `core` (when pinning is possible),
 * its output going to a file, and resolves once that output matches `ready`, with the match.
 */
export async function startNode(script: string, args: string[], { core, env = {}, ready, nodeArgs = [], name }: { core: number; env?: Record<string, string>; ready: RegExp; nodeArgs?: string[]; name: string }) {
  const baseEnv = { ...process.env };
  for (const key of ['DATABASE_URL', 'REDIS_URL', 'NODE_ENV', 'NODE_OPTIONS', 'PORT', 'USERS_URL', 'CATALOG_URL', 'ORDERS_URL', 'LOG_LEVEL']) delete baseEnv[key];
  const logFile = join(mkdtempSync(join(tmpdir(), 'mobile-bff-bench-')), `${name}.log`);
  const fd = openSync(logFile, 'w');
  const argv = [...nodeArgs, script, ...args];
  const options = { cwd: projectRoot(), env: { ...baseEnv, ...env }, stdio: ['ignore', fd, fd] as ['ignore', number, number] };
  // taskset execs node, so the child's pid is node's own.
  const child: ChildProcess = canPin ? spawn('taskset', ['-c', String(core), process.execPath, ...argv], options) : spawn(process.execPath, argv, options);
  closeSync(fd);
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exitCode = code;
      resolve();
    }),
  );
  const started = Date.now();
  let match: RegExpMatchArray | null = null;
  while (!match) {
    const out = readFileSync(logFile, 'utf8');
    match = out.match(ready);
    if (match) break;
    if (exitCode !== undefined) throw new Error(`${name} exited (${exitCode}) before it was ready:\n${out}`);
    if (Date.now() - started > 60_000) throw new Error(`${name} did not start within 60 s:\n${out}`);
    await sleep(50);
  }
  const running: Child = {
    pid: child.pid!,
    logFile,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
      if (!process.env.BENCH_KEEP_LOGS) rmSync(dirname(logFile), { recursive: true, force: true });
    },
  };
  return { running, match };
}

/** The BFF's environment in every benchmark: `npm start`'s embedded settings, against `serviceUrls`, on `port`. */
export function bffBenchEnv(port: number, serviceUrls: Record<string, string>): Record<string, string> {
  return {
    NODE_ENV: 'development',
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: 'memory://',
    USERS_URL: serviceUrls.users!,
    CATALOG_URL: serviceUrls.catalog!,
    ORDERS_URL: serviceUrls.orders!,
    NOTIFICATIONS_URL: serviceUrls.notifications!,
    // Ids and text both: S1 and S2 send text, S3 the hash (production's `require` refuses text;
    // a request by hash takes the same path in both modes).
    PERSISTED_OPERATIONS: 'off',
    // On, as deployed, with a limit the load does not reach: one client sends everything here,
    // and the default 20/s per client would measure the limiter's refusals, not its cost.
    RATE_LIMIT_PER_SECOND: '1000000',
    // Load shedding stays on at its default (200 ms of event-loop delay), which saturation with
    // 10 connections does not reach.
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
  };
}

/** The bench's downstream (`bench/servers/downstream.ts`: the reference services behind memoizing proxies) on the load core: its process, each service's URL and the proxies' control URL. */
export async function startDownstream(): Promise<{ running: Child; urls: Record<string, string>; control: string }> {
  const { running, match } = await startNode('dist/bench/servers/downstream.js', [], { name: 'downstream', core: LOAD_CORE, ready: /^(\{"urls".*\})$/m });
  const { urls, control } = JSON.parse(match[1]!) as { urls: Record<string, string>; control: string };
  return { running, urls, control };
}
