import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface EventLoopMonitorOptions {
  /** Mean event-loop delay over a sample above which the process counts as overloaded, in ms. */
  maxDelayMs: number;
  /** Length of a sample, in ms. @default 1000 */
  sampleIntervalMs?: number;
}

const RESOLUTION_MS = 10;

/**
 * Samples the event-loop delay (perf_hooks) every `sampleIntervalMs`. `overloaded` is true while
 * the last sample's mean delay exceeded `maxDelayMs`: callbacks, and so requests, already wait
 * that long before they run, and queueing more would only make every one of them late.
 */
export function createEventLoopMonitor({ maxDelayMs, sampleIntervalMs = 1000 }: EventLoopMonitorOptions) {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  let delayMs = 0;
  let timer: NodeJS.Timeout | undefined;
  return {
    /** Mean delay of the last sample, in ms (the timer's own resolution subtracted). */
    get delayMs() {
      return delayMs;
    },
    get overloaded() {
      return delayMs > maxDelayMs;
    },
    start() {
      if (timer) return;
      histogram.enable();
      timer = setInterval(() => {
        // No sample at all (mean is NaN) means no tick completed: report the whole interval.
        delayMs = Number.isFinite(histogram.mean) ? Math.max(0, histogram.mean / 1e6 - RESOLUTION_MS) : sampleIntervalMs;
        histogram.reset();
      }, sampleIntervalMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
      histogram.disable();
      delayMs = 0;
    },
  };
}

export type EventLoopMonitor = ReturnType<typeof createEventLoopMonitor>;
