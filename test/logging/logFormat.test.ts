import { spawn } from 'node:child_process';
import { loadConfig } from '../../src/config/loadConfig.js';
import { projectRoot } from '../../src/util/projectRoot.js';
import { buildProject } from '../support/buildProject.js';
import { startNode, type RunningProcess } from '../support/processes.js';

// Development output is for a person at a terminal; anything else (a pipe, a log collector,
// production) gets JSON lines.

describe('the log format', () => {
  it('is readable lines on a terminal and JSON when stdout is not a terminal', () => {
    expect(loadConfig({}, { stdoutIsTerminal: true }).logFormat).toBe('pretty');
    expect(loadConfig({}, { stdoutIsTerminal: false }).logFormat).toBe('json');
  });

  it('is JSON in production, even on a terminal', () => {
    const production = { NODE_ENV: 'production', DATABASE_URL: 'postgres://db/x', AUTH_JWKS_URL: 'https://idp/jwks', AUTH_ISSUER: 'https://idp/', AUTH_AUDIENCE: 'a' };
    expect(loadConfig(production, { stdoutIsTerminal: true }).logFormat).toBe('json');
  });

  it('follows LOG_FORMAT, and names the variable when it is wrong', () => {
    expect(loadConfig({ LOG_FORMAT: 'json' }, { stdoutIsTerminal: true }).logFormat).toBe('json');
    expect(loadConfig({ LOG_FORMAT: 'pretty' }, { stdoutIsTerminal: false }).logFormat).toBe('pretty');
    expect(() => loadConfig({ LOG_FORMAT: 'xml' })).toThrow(/LOG_FORMAT: expected one of json, pretty, got "xml"/);
  });
});

describe('npm start in development', () => {
  beforeAll(buildProject, 200_000);
  const running: { stop(): Promise<unknown> }[] = [];
  afterAll(() => Promise.all(running.map((r) => r.stop())));

  /** `node dist/src/main.js` with a terminal as stdout (util-linux `script` gives it a pseudo-terminal). */
  function startOnTerminal(env: Record<string, string>) {
    // `script` runs the command in a session of its own (the pseudo-terminal's), out of reach of
    // the process-group kill below and of the test environment's; and SIGHUP, which the terminal's
    // hang-up would send, reloads manifests instead of ending the server. So the shell prints its
    // pid (the new session's leader, which exec makes the server itself) and that pid is killed.
    const child = spawn('script', ['-qfec', 'echo "pid:$$"; exec node dist/src/main.js', '/dev/null'], {
      cwd: projectRoot(),
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'dumb', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    const groups = (globalThis as { __spawnedProcessGroups?: Set<number> }).__spawnedProcessGroups;
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const server = /pid:(\d+)/.exec(out)?.[1];
      if (server) groups?.add(Number(server));
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const handle = {
      output: () => out,
      async waitFor(pattern: RegExp, ms = 90_000) {
        const deadline = Date.now() + ms;
        while (!pattern.test(out)) {
          if (child.exitCode !== null) throw new Error(`exited before ${pattern}:\n${out}`);
          if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}:\n${out}`);
          await new Promise((resolve) => child.stdout!.once('data', resolve).once('close', resolve));
        }
        return pattern.exec(out)!;
      },
      async stop() {
        const server = /pid:(\d+)/.exec(out)?.[1];
        if (server) {
          try {
            process.kill(-Number(server), 'SIGKILL');
          } catch {
            // Already gone.
          }
        }
        if (child.exitCode === null) process.kill(-child.pid!, 'SIGTERM');
        await exited;
      },
    };
    running.push(handle);
    return handle;
  }

  const query = (url: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ products(first: 1) { edges { node { name } } } }' }) });

  it('prints every in-process service\'s URL, which answers', async () => {
    const bff: RunningProcess = startNode('dist/src/main.js', [], { PORT: '0', DATA_DIR: 'memory://' });
    running.push(bff);
    await bff.waitFor(/GraphiQL:/);
    for (const name of ['users', 'catalog', 'orders']) {
      const [, url] = bff.output().match(new RegExp(`${name} service: +(http://\\S+) +\\(in process\\)`))!;
      expect((await fetch(`${url}/health`)).status).toBe(200);
    }
  }, 120_000);

  it('writes readable one-line entries on a terminal', async () => {
    const bff = startOnTerminal({ PORT: '0', DATA_DIR: 'memory://' });
    const [, url] = await bff.waitFor(/GraphiQL: (http:\/\/\S+\/graphql)/);
    expect((await query(url!)).status).toBe(200);
    const [line] = await bff.waitFor(/^.*"path":"\/graphql".*$/m);
    expect(line).toMatch(/^\S*\d\d:\d\d:\d\d\.\d{3}\S* \S*INFO\S*: \S*request/);
    expect(line).not.toMatch(/^\{/);
  }, 120_000);

  it('writes JSON lines when stdout is not a terminal', async () => {
    const bff = startNode('dist/src/main.js', [], { PORT: '0', DATA_DIR: 'memory://' });
    running.push(bff);
    const [, url] = await bff.waitFor(/GraphiQL: (http:\/\/\S+\/graphql)/);
    expect((await query(url!)).status).toBe(200);
    const [line] = await bff.waitFor(/^\{.*"path":"\/graphql".*\}$/m);
    expect(JSON.parse(line)).toMatchObject({ level: 30, msg: 'request', method: 'POST', path: '/graphql', status: 200 });
  }, 120_000);
});
