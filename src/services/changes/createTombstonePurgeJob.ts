export interface TombstonePurgeJobOptions {
  /** One run: deletes the tombstones older than the retention; resolves with how many it deleted. */
  purge: () => Promise<number>;
  /** Time between two runs, in milliseconds. @default 3_600_000 (one hour) */
  intervalMs?: number;
  /** Gets a run's error; the next run tries again. @default a process warning */
  onError?: (error: unknown) => void;
}

/**
 * Runs `purge` now and then every `intervalMs`, never two runs at once. Several service
 * instances may each run one: a purge is one statement, and the horizon only moves forward.
 */
export function createTombstonePurgeJob({
  purge,
  intervalMs = 3_600_000,
  onError = (error) => process.emitWarning(`tombstone purge failed: ${(error as Error)?.message ?? String(error)}`),
}: TombstonePurgeJobOptions) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const run = (): Promise<void> =>
    (running ??= purge().then(
      () => {
        running = undefined;
      },
      (error: unknown) => {
        running = undefined;
        onError(error);
      },
    ));
  return {
    /** Runs once now, then every `intervalMs`; the timer does not keep the process alive. */
    start() {
      if (timer) return;
      void run();
      timer = setInterval(run, intervalMs).unref();
    },
    /** Stops the timer and waits for a run in progress. */
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}
