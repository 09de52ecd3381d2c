// Jest runs this before every test file (package.json "setupFilesAfterEnv"). Jest gives hooks the
// tests' timeout (testTimeout); but a start-up hook boots embedded PostgreSQL (PGlite: seconds of
// WebAssembly), migrates, seeds and listens, which on a machine busy with other work takes many
// times what it takes on an idle one. A start-up that times out fails every test of its file for
// no fault of theirs, so hooks without a timeout of their own get a longer one. It only bounds a
// hang: a hook that finishes sooner is not made to wait.
const HOOK_TIMEOUT_MS = 240_000;

type Hook = (fn: jest.ProvidesHookCallback, timeout?: number) => void;
for (const name of ['beforeAll', 'afterAll', 'beforeEach', 'afterEach'] as const) {
  const hooks = globalThis as unknown as Record<typeof name, Hook>;
  const original = hooks[name];
  hooks[name] = (fn, timeout) => original(fn, timeout ?? HOOK_TIMEOUT_MS);
}
