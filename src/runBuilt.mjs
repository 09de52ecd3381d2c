// `node src/runBuilt.mjs src/<entry>.ts [args...]`: runs the compiled entry point
// (dist/src/<entry>.js) in this process, compiling first (`tsc -p src --noCheck`) only when a source changed
// since the last build. `npm start`, `npm run token`, `npm run services` and
// `npm run persisted:check` go through it, so an unchanged checkout starts at once instead of
// loading the TypeScript compiler every time (seconds, and tens of seconds on a busy machine).
//
// "Changed" is a fingerprint of every file tsc compiles (path, size, mtime) and of the tsconfig
// files, stored in dist/.build-fingerprint after a successful build. A deleted, added, edited or
// checked-out file changes it; the fingerprint is taken before compiling, so an edit made during
// a build is compiled by the next run.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const stampFile = join(root, 'dist', '.build-fingerprint');

/** Every `.ts` file under `dir`, recursively. */
function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function fingerprint() {
  const files = [...sources(join(root, 'src')), join(root, 'tsconfig.json'), join(root, 'src', 'tsconfig.json')].sort();
  const hash = createHash('sha256');
  for (const file of files) {
    const { size, mtimeMs } = statSync(file);
    hash.update(`${relative(root, file)}\0${size}\0${mtimeMs}\n`);
  }
  return hash.digest('hex');
}

function compileIfChanged() {
  const current = fingerprint();
  const built = existsSync(stampFile) ? readFileSync(stampFile, 'utf8').trim() : undefined;
  if (built === current) return;
  let tsc;
  try {
    tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    // An installation without dev dependencies (the production image) runs what it was built with.
    process.stderr.write('runBuilt: TypeScript is not installed (production dependencies only): running dist/ as built.\n');
    return;
  }
  // --noCheck: emit only, half the CPU of a checked build; types are checked by `npm run
  // typecheck`, the editor, CI and the image's `npm run build`, as a runner like tsx would leave them.
  process.stderr.write('Sources changed since the last build: compiling (tsc -p src --noCheck)...\n');
  const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'src'), '--noCheck'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
  mkdirSync(dirname(stampFile), { recursive: true });
  writeFileSync(stampFile, `${current}\n`);
}

const [entry, ...args] = process.argv.slice(2);
// `--build`: only bring dist/ up to date (the tests that spawn dist/ entry points, before they do).
if (entry === '--build') {
  compileIfChanged();
  process.exit(0);
}
if (!entry || !/^src\/.+\.ts$/.test(entry)) {
  process.stderr.write(`usage: node src/runBuilt.mjs src/<entry>.ts [args...] | --build (got ${entry ?? 'nothing'})\n`);
  process.exit(2);
}
compileIfChanged();
const compiled = join(root, 'dist', entry.replace(/\.ts$/, '.js'));
// The entry point sees the arguments as if it had been started with `node dist/src/<entry>.js`.
process.argv = [process.argv[0], compiled, ...args];
await import(pathToFileURL(compiled).href);
