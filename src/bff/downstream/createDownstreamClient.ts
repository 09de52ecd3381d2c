import { Agent, request } from 'undici';
import type { Metrics } from '../metrics/createMetrics.js';
import { DownstreamResponseError, DownstreamUnavailableError } from './DownstreamErrors.js';

export type ServiceName = 'users' | 'catalog' | 'orders';

export interface DownstreamCall {
  /** @default 'GET' */
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path and query, e.g. `/products?ids=a,b`. */
  path: string;
  /** A low-cardinality name for metrics, e.g. `GET /products?ids`. */
  route: string;
  body?: unknown;
  /** Statuses the caller handles itself; any other (but 502/503/504) is a `DownstreamResponseError`. @default [200] */
  expect?: readonly number[];
}

export interface DownstreamResponse<T> {
  status: number;
  body: T;
}

export interface DownstreamClientOptions {
  /** Base URL of each service. */
  urls: Record<ServiceName, string>;
  /** Deadline of one call, in milliseconds. */
  timeoutMs: number;
  metrics: Metrics;
  /** Called after each call the service answered (any status), before the caller sees the answer; for test hooks. @default none */
  afterCall?: (call: { service: ServiceName; route: string; status: number }) => void;
}

const UNAVAILABLE_STATUSES = new Set([502, 503, 504]);

/**
 * JSON over keep-alive HTTP (undici) to the downstream services. Every call has a deadline.
 * Unreachable, timed out or 502/503/504 → `DownstreamUnavailableError` (the client sees
 * `DOWNSTREAM_UNAVAILABLE`); an unexpected status → `DownstreamResponseError` (masked).
 */
export function createDownstreamClient({ urls, timeoutMs, metrics, afterCall }: DownstreamClientOptions) {
  const agent = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 60_000, connections: 64, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });

  async function call<T>(service: ServiceName, { method = 'GET', path, route, body, expect = [200] }: DownstreamCall): Promise<DownstreamResponse<T>> {
    const stopTimer = metrics.downstreamDuration.startTimer({ service, route });
    let status = 'error';
    try {
      const response = await request(urls[service] + path, {
        dispatcher: agent,
        method,
        headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = String(response.statusCode);
      const text = await response.body.text();
      afterCall?.({ service, route, status: response.statusCode });
      if (UNAVAILABLE_STATUSES.has(response.statusCode)) throw new DownstreamUnavailableError(service, `HTTP ${response.statusCode}`);
      const parsed: unknown = text ? JSON.parse(text) : undefined;
      if (!expect.includes(response.statusCode)) throw new DownstreamResponseError(service, route, response.statusCode, parsed);
      return { status: response.statusCode, body: parsed as T };
    } catch (error) {
      if (error instanceof DownstreamUnavailableError || error instanceof DownstreamResponseError) throw error;
      const name = (error as { name?: string }).name;
      const timedOut = name === 'TimeoutError' || name === 'AbortError' || name === 'HeadersTimeoutError' || name === 'BodyTimeoutError';
      if (timedOut) status = 'timeout';
      if (error instanceof SyntaxError) throw new DownstreamResponseError(service, route, Number(status) || 0, 'invalid JSON');
      throw new DownstreamUnavailableError(service, timedOut ? `no answer within ${timeoutMs} ms` : ((error as Error).message ?? 'request failed'));
    } finally {
      stopTimer();
      metrics.downstreamRequests.inc({ service, route, status });
    }
  }

  return {
    call,
    async close() {
      await agent.close();
    },
  };
}

export type DownstreamClient = ReturnType<typeof createDownstreamClient>;
