import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/createMetrics.js';
import { requestIdOf } from './requestIdOf.js';

export interface HttpServerOptions {
  /** The request handler (yoga's `requestListener`). */
  handler: (req: IncomingMessage, res: ServerResponse) => unknown;
  metrics: Metrics;
  logger: Logger;
  /**
   * Where each request's logger (with its id) is kept for the handler, which gets the node request
   * (yoga's context factory reads it from there). Not AsyncLocalStorage: once used, its promise hook
   * costs every promise of the process.
   */
  requestLogs: WeakMap<IncomingMessage, Logger>;
  /** Paths that are their own label in metrics; anything else is `other`. */
  endpoints: ReadonlySet<string>;
  /** Answers some requests before `handler` (the by-hash lane), calling `fallback` for the others. */
  lane?: () => { handle(req: IncomingMessage, res: ServerResponse, log: Logger, fallback: () => void): void } | undefined;
}

/** Probes and scrapes: logged at debug, not info, or they would drown the log. */
const QUIET = new Set(['/health', '/ready', '/metrics']);

/**
 * The node:http server in front of yoga. Gives every request an id (a sane `x-request-id`, else a
 * new one) that yoga, the downstream calls and the logs see, and that the response carries;
 * writes one log line and one duration sample per request; and drains: `drain()` lets in-flight
 * requests finish while every response from then on tells its client to close the connection.
 */
export function createHttpServer({ handler, metrics, logger, requestLogs, endpoints, lane }: HttpServerOptions) {
  const inFlight = new Set<ServerResponse>();
  let draining = false;
  let onIdle: (() => void) | undefined;

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const requestId = requestIdOf(req.headers['x-request-id']);
    req.headers['x-request-id'] = requestId;
    res.setHeader('x-request-id', requestId);
    if (draining) res.setHeader('connection', 'close');
    inFlight.add(res);
    const log = logger.child({ requestId });
    const started = performance.now();
    const stopTimer = metrics.httpDuration.startTimer();
    res.once('close', () => {
      inFlight.delete(res);
      const status = res.writableFinished ? res.statusCode : 499; // 499: the client went away first
      stopTimer({ endpoint: endpoints.has(path) ? path : 'other', method: req.method ?? 'GET', status: String(status) });
      log[QUIET.has(path) ? 'debug' : 'info']({ method: req.method, path, status, ms: Math.round(performance.now() - started) }, 'request');
      if (inFlight.size === 0) onIdle?.();
    });
    const toHandler = () => {
      requestLogs.set(req, log);
      void handler(req, res);
    };
    // The lane gets the request's logger as an argument.
    const first = lane?.();
    if (first) first.handle(req, res, log, toHandler);
    else toHandler();
  });
  // Longer than a typical load balancer's idle timeout, so the balancer closes first.
  server.keepAliveTimeout = 65_000;

  return {
    server,
    /** True once `drain()` was called: readiness fails, responses say `Connection: close`. */
    get draining() {
      return draining;
    },
    /** Responses from now on close their connections; readiness fails. The listener stays open. */
    startDraining() {
      draining = true;
      for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
    },
    /**
     * Stops accepting connections and resolves once every in-flight request has finished and every
     * connection is closed; after `timeoutMs`, closes the connections still open (a stuck request,
     * a long-lived stream) and resolves.
     */
    async drain(timeoutMs: number) {
      this.startDraining();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const finished = new Promise<void>((resolve) => {
        onIdle = () => {
          // Keep-alive sockets whose last response went out before draining began sit idle now.
          server.closeIdleConnections();
          resolve();
        };
        if (inFlight.size === 0) onIdle();
      });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          logger.warn({ inFlight: inFlight.size }, 'shutdown: requests still running after the timeout; closing their connections');
          server.closeAllConnections();
          resolve();
        }, timeoutMs);
      });
      await Promise.race([finished.then(() => closed), timeout]);
      clearTimeout(timer);
    },
  };
}

export type HttpServer = ReturnType<typeof createHttpServer>;
