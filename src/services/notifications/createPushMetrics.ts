import { Counter, Gauge, Registry } from 'prom-client';

/** The push side's metrics, served by the notifications service at `/metrics`. */
export function createPushMetrics() {
  const registry = new Registry();
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
    lag: new Gauge({ name: 'push_consumer_lag_seconds', help: 'How far the push consumer is behind the orders change feed (0 when caught up).', registers: [registry] }),
  };
}

export type PushMetrics = ReturnType<typeof createPushMetrics>;
