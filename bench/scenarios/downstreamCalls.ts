import { request } from 'undici';
import { median } from '../lib/stats.js';
import { checkOrderList } from '../lib/operations.js';

type Counts = Record<string, Record<string, number>>;

export interface DownstreamCallsResult {
  first: number;
  requests: number;
  /** Downstream calls per GraphQL request, as the downstream proxies counted them. */
  callsPerRequest: number;
  /** The same from the BFF's `bff_downstream_requests_total`. */
  bffCountedPerRequest: number;
  /** Calls per request by `service route`. */
  byRoute: Record<string, number>;
  p50: number;
  p99: number;
}

async function downstreamCounts(controlUrl: string): Promise<Counts> {
  return (await (await fetch(`${controlUrl}/stats`)).json()) as Counts;
}

async function bffCount(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  let sum = 0;
  for (const match of text.matchAll(/^bff_downstream_requests_total\{[^}]*\} (\S+)$/gm)) sum += Number(match[1]);
  return sum;
}

/**
 * S5: the orders screen by hash with `first` orders while every downstream answer takes `delayMs`
 * more (set on the downstream proxies), one request at a time; counts the downstream calls each
 * request made, per route, both where they arrived and where the BFF sent them.
 */
export async function measureDownstreamCalls({ graphqlUrl, metricsUrl, controlUrl, body, authorization, first, requests }: { graphqlUrl: string; metricsUrl: string; controlUrl: string; body: string; authorization: string; first: number; requests: number }): Promise<DownstreamCallsResult> {
  const headers = { 'content-type': 'application/json', authorization };
  // One request outside the count: the proxies record their answers for this page size.
  const warm = await request(graphqlUrl, { method: 'POST', headers, body });
  const problem = checkOrderList((await warm.body.json()) as { data?: unknown }, first);
  if (warm.statusCode !== 200 || problem) throw new Error(`S5 first=${first}: ${warm.statusCode} ${problem}`);
  const before = await downstreamCounts(controlUrl);
  const bffBefore = await bffCount(metricsUrl);
  const latencies: number[] = [];
  for (let i = 0; i < requests; i++) {
    const started = performance.now();
    const response = await request(graphqlUrl, { method: 'POST', headers, body });
    const answer = (await response.body.json()) as { data?: unknown };
    latencies.push(performance.now() - started);
    const bad = checkOrderList(answer, first);
    if (response.statusCode !== 200 || bad) throw new Error(`S5 first=${first}: ${response.statusCode} ${bad}`);
  }
  const after = await downstreamCounts(controlUrl);
  const bffAfter = await bffCount(metricsUrl);
  const byRoute: Record<string, number> = {};
  let total = 0;
  for (const [service, routes] of Object.entries(after)) {
    for (const [route, n] of Object.entries(routes)) {
      const d = n - (before[service]?.[route] ?? 0);
      if (d) byRoute[`${service} ${route}`] = d / requests;
      total += d;
    }
  }
  latencies.sort((a, b) => a - b);
  return {
    first,
    requests,
    callsPerRequest: total / requests,
    bffCountedPerRequest: (bffAfter - bffBefore) / requests,
    byRoute,
    p50: median(latencies),
    p99: latencies[Math.min(latencies.length - 1, Math.ceil(0.99 * latencies.length) - 1)]!,
  };
}
