import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The BFF's Prometheus metrics, in a registry of its own (several BFFs may share a process in tests). */
export function createMetrics({ defaultMetrics = true }: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (defaultMetrics) collectDefaultMetrics({ register: registry });
  let sharedSubscribers = () => 0;
  return {
    registry,
    downstreamRequests: new Counter({
      name: 'bff_downstream_requests_total',
      help: 'Calls to downstream services, by service, route and HTTP status (or "timeout" / "error").',
      labelNames: ['service', 'route', 'status'] as const,
      registers: [registry],
    }),
    downstreamDuration: new Histogram({
      name: 'bff_downstream_request_duration_seconds',
      help: 'Duration of calls to downstream services.',
      labelNames: ['service', 'route'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    operations: new Counter({
      name: 'bff_operations_total',
      help: 'Persisted operations served, by operation name and the app that sent them (apollographql-client-name / -version; names and versions no manifest names are "other"), to tell when a manifest can be retired.',
      labelNames: ['operation', 'client_name', 'client_version'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'bff_http_request_duration_seconds',
      help: 'Duration of HTTP requests to the BFF, by endpoint, method and status.',
      labelNames: ['endpoint', 'method', 'status'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    downstreamRetries: new Counter({
      name: 'bff_downstream_retries_total',
      help: 'Retries of idempotent downstream reads, by service, route and what failed ("connection", "429", "502", "503", "504").',
      labelNames: ['service', 'route', 'reason'] as const,
      registers: [registry],
    }),
    breakerState: new Gauge({
      name: 'bff_circuit_breaker_state',
      help: 'Circuit breaker per downstream service: 1 for its current state (closed, half_open, open), 0 for the others.',
      labelNames: ['service', 'state'] as const,
      registers: [registry],
    }),
    breakerRejections: new Counter({
      name: 'bff_circuit_breaker_rejections_total',
      help: 'Downstream calls failed fast, without a request, because the service\'s circuit breaker was open.',
      labelNames: ['service'] as const,
      registers: [registry],
    }),
    subscriptionStreams: new Gauge({
      name: 'bff_subscription_streams',
      help: 'Subscription source streams open (each reads a change feed); subscribers sharing one stream count once.',
      labelNames: ['field'] as const,
      registers: [registry],
    }),
    sharedSubscribers: new Gauge({
      name: 'bff_subscription_shared_subscribers',
      help: 'Subscriptions served by a shared stream (identical persisted subscriptions of one viewer, from now on).',
      registers: [registry],
      collect() {
        this.set(sharedSubscribers());
      },
    }),
    /** Where `bff_subscription_shared_subscribers` reads its value when scraped. */
    countSharedSubscribers(count: () => number) {
      sharedSubscribers = count;
    },
    responseCacheLookups: new Counter({
      name: 'bff_response_cache_lookups_total',
      help: 'Response cache lookups of persisted queries, by result ("hit": answered from the cache, fresh; "miss": executed).',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    responseCacheInvalidations: new Counter({
      name: 'bff_response_cache_invalidations_total',
      help: 'Response cache entries made stale, by reason ("notice": a change notice; "feed": a change found in a change feed, i.e. a notice that was lost; "ttl": past its max age).',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    responseCacheStaleAnswers: new Counter({
      name: 'bff_response_cache_stale_answers_total',
      help: 'Answers of the last good result because a service it depends on was unavailable (extensions.stale).',
      registers: [registry],
    }),
    upgradeRequired: new Counter({
      name: 'bff_client_upgrade_required_total',
      help: 'Operations refused with UPGRADE_REQUIRED (MIN_CLIENT_VERSIONS, or a SUNSET_CLIENT_VERSIONS date passed), by the app that sent them.',
      labelNames: ['client_name', 'client_version'] as const,
      registers: [registry],
    }),
    sunsetResponses: new Counter({
      name: 'bff_client_sunset_responses_total',
      help: 'Operations answered with a Sunset notice (SUNSET_CLIENT_VERSIONS), by the app that sent them.',
      labelNames: ['client_name', 'client_version'] as const,
      registers: [registry],
    }),
    manifestReloads: new Counter({
      name: 'bff_persisted_manifest_reloads_total',
      help: 'Reloads of the persisted-operation manifests after a change or SIGHUP: "applied", or "refused" (a manifest did not validate; the previous set still serves).',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    rejectedRequests: new Counter({
      name: 'bff_rejected_requests_total',
      help: 'Requests refused before execution, by reason ("rate_limited", "overloaded").',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
