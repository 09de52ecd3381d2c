import { Counter, Gauge, Registry } from 'prom-client';

/** The push side's metrics, served by the notifications service at `/metrics`. */
export function createPushMetrics() {
  const registry = new Registry();
  let lagProbe: (() => Promise<number | undefined>) | undefined;
  return {
    registry,
    sent: new Counter({ name: 'push_sent_total', help: 'Pushes the platform accepted, by platform and kind (alert, poke).', labelNames: ['platform', 'kind'], registers: [registry] }),
    failed: new Counter({
      name: 'push_failed_total',
      help: 'Push attempts the platform refused or did not answer, by platform, kind and reason (e.g. Unregistered, TooManyRequests).',
      labelNames: ['platform', 'kind', 'reason'],
      registers: [registry],
    }),
    pruned: new Counter({ name: 'push_devices_pruned_total', help: 'Devices deleted because the platform called their token dead.', labelNames: ['platform', 'reason'], registers: [registry] }),
    purged: new Counter({ name: 'push_outbox_purged_total', help: 'Finished outbox rows (sent or given up) deleted by the retention job (PUSH_OUTBOX_RETENTION).', registers: [registry] }),
    lag: new Gauge({
      name: 'push_consumer_lag_seconds',
      help:
        'How far the push consumer is behind the head of the orders change feed: the age in seconds of the oldest order change it has not yet turned into pushes (0 when it has consumed the whole feed). Measured at each scrape from its stored position; set as it advances.',
      registers: [registry],
      async collect() {
        if (!lagProbe) return;
        // Unreachable orders service or database: the last value stands (the consumer is stuck on the same).
        const seconds = await lagProbe().catch(() => undefined);
        if (seconds !== undefined) this.set(seconds);
      },
    }),
    /** Measures the lag at each scrape (the consumer's position against the feed). */
    measureLag(probe: () => Promise<number | undefined>) {
      lagProbe = probe;
    },
  };
}

export type PushMetrics = ReturnType<typeof createPushMetrics>;
