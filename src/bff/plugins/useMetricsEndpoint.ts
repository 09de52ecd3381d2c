import type { Plugin } from 'graphql-yoga';
import type { Registry } from 'prom-client';

/** Serves the registry's metrics in Prometheus text format at `endpoint`. */
export function useMetricsEndpoint({ registry, endpoint = '/metrics' }: { registry: Registry; endpoint?: string }): Plugin {
  return {
    async onRequest({ url, endResponse, fetchAPI }) {
      if (url.pathname !== endpoint) return;
      endResponse(new fetchAPI.Response(await registry.metrics(), { status: 200, headers: { 'content-type': registry.contentType } }));
    },
  };
}
