import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../src/util/projectRoot.js';

export interface ImageLayout {
  /** The final stage's WORKDIR: what the image's processes run in. */
  dir: string;
  /** The final stage's `ENV`. */
  env: Record<string, string>;
  /** The final stage's `CMD`. */
  cmd: string[];
  /** Each `RUN` and how long it took, in ms. */
  steps: { run: string; ms: number }[];
  remove(): void;
}

interface Stage {
  name: string;
  /** Stands for the stage's WORKDIR. */
  dir: string;
  workdir: string;
  env: Record<string, string>;
  cmd: string[];
}

/** `sh -c command`; a failure names the command and shows the end of its output. */
async function run(command: string, options: { cwd: string; env: NodeJS.ProcessEnv; timeout: number }) {
  try {
    await promisify(execFile)('sh', ['-c', command], { ...options, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`RUN ${command} failed:\n${`${stdout}\n${stderr}`.trim().split('\n').slice(-30).join('\n')}`);
  }
}

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function instructions(text: string): { op: string; args: string }[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [op, ...rest] = line.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(' ') };
    });
}

/**
 * The file layout the image of `dockerfile` would have, built without Docker by following the
 * Dockerfile itself: each stage is a directory standing for its WORKDIR; `COPY` copies from the
 * build context (the repository, minus the .dockerignore's entries) or from an earlier stage;
 * `RUN` runs in the stage's directory. So the layout cannot drift from the Dockerfile. npm is
 * told to prefer its cache (`npm_config_prefer_offline`), which changes where packages come
 * from, not which.
 *
 * Supports what .ci/Dockerfile uses: FROM … AS, WORKDIR (one per stage), COPY [--from=], RUN,
 * ENV, USER, EXPOSE, CMD (JSON form). Anything else throws.
 */
export async function buildImageLayout(dockerfile = join(projectRoot(), '.ci/Dockerfile')): Promise<ImageLayout> {
  const context = projectRoot();
  const ignoreFile = `${dockerfile}.dockerignore`;
  const ignored = new Set(existsSync(ignoreFile) ? readFileSync(ignoreFile, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')) : []);
  const base = mkdtempSync(join(tmpdir(), 'mobile-bff-image-'));
  const stages: Stage[] = [];
  const steps: ImageLayout['steps'] = [];
  const remove = () => rmSync(base, { recursive: true, force: true });
  try {
    for (const { op, args } of instructions(readFileSync(dockerfile, 'utf8'))) {
      const stage = stages.at(-1);
      if (op === 'FROM') {
        const name = /\bAS\s+(\S+)/i.exec(args)?.[1] ?? `stage${stages.length}`;
        stages.push({ name, dir: join(base, name), workdir: '/', env: { ...stage?.env }, cmd: [] });
        continue;
      }
      if (!stage) throw new Error(`${dockerfile}: ${op} before FROM`);
      switch (op) {
        case 'WORKDIR':
          if (stage.workdir !== '/') throw new Error(`${dockerfile}: one WORKDIR per stage, please`);
          stage.workdir = args.replace(/\/+$/, '');
          mkdirSync(stage.dir, { recursive: true });
          break;
        case 'ENV':
          for (const [, k, v] of args.matchAll(/(\w+)=(\S+)/g)) stage.env[k!] = v!;
          break;
        case 'USER':
        case 'EXPOSE':
          break;
        case 'CMD':
          stage.cmd = JSON.parse(args) as string[];
          break;
        case 'COPY': {
          const from = /^--from=(\S+)\s+/.exec(args);
          const words = args.replace(/^--from=\S+\s+/, '').split(/\s+/);
          const dest = join(stage.dir, words.pop()!);
          const fromStage = from ? stages.find((s) => s.name === from[1]) : undefined;
          if (from && !fromStage) throw new Error(`${dockerfile}: COPY --from=${from[1]}: no such stage`);
          const sourceRoot = fromStage?.dir ?? context;
          for (const word of words) {
            // Paths of another stage are absolute, under its WORKDIR; context paths are relative.
            const source = fromStage && word.startsWith(`${fromStage.workdir}/`) ? word.slice(fromStage.workdir.length + 1) : word;
            if (fromStage && source === word) throw new Error(`${dockerfile}: COPY --from=${fromStage.name} ${word}: only paths under its WORKDIR ${fromStage.workdir} are supported`);
            // `COPY a b ./` puts files a and b into ./; `COPY dir ./dir` copies dir's contents.
            const target = dest.endsWith('/') || words.length > 1 ? join(dest, basename(source)) : dest;
            cpSync(join(sourceRoot, source), target, {
              recursive: true,
              filter: (path) => from !== null || !path.slice(context.length + 1).split('/').some((part) => ignored.has(part)),
            });
          }
          break;
        }
        case 'RUN': {
          const started = Date.now();
          await run(args, {
            cwd: stage.dir,
            // What a build container has: no NODE_ENV, DATABASE_URL or NODE_OPTIONS of the test run.
            env: { PATH: process.env.PATH, HOME: process.env.HOME, ...stage.env, npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' },
            timeout: 900_000,
          });
          steps.push({ run: args, ms: Date.now() - started });
          break;
        }
        default:
          throw new Error(`${dockerfile}: ${op} is not supported by buildImageLayout`);
      }
    }
    const final = stages.at(-1);
    if (!final) throw new Error(`${dockerfile}: no stage`);
    for (const stage of stages.slice(0, -1)) rmSync(stage.dir, { recursive: true, force: true });
    return { dir: final.dir, env: final.env, cmd: final.cmd, steps, remove };
  } catch (error) {
    remove();
    throw error;
  }
}
