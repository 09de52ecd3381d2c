// The HTTP comparison: which request each scenario sends, and which server answers it. Every
// server answers every scenario it serves with the BFF's exact bytes, so the rows of one
// scenario are the same work on different servers.

/** The HTTP scenarios, in table order. */
export const HTTP_SCENARIOS = {
  S1: 'S1 trivial `{ __typename }`',
  S2: 'S2 orders screen, text',
  S3: 'S3 orders screen, by hash, POST',
  S3get: 'S3 orders screen, by hash, GET',
  S8: 'S8 catalogue screen (CatalogPage, 20 products), by hash, POST, anonymous',
} as const;
export type ScenarioId = keyof typeof HTTP_SCENARIOS;

export interface HttpServer {
  label: string;
  /** How it is configured (printed with the table, so a reader knows what each row ran). */
  settings: string;
  /** The scenarios it is measured on. */
  scenarios: readonly ScenarioId[];
}

/** The servers, in table order within a scenario. */
export const HTTP_SERVERS = {
  bff: {
    label: 'mobile-bff',
    settings:
      '`dist/src/main.js` as `npm start` and the image run it (node `--max-semi-space-size=32`, from package.json\'s `start`), every production feature on: access log at `info` (one JSON line per request, to a file), metrics (prom-client, per request and per downstream call), request id, auth (ES256 bearer token; claims remembered per token), rate limiter (in memory, 1,000,000/s per client: a limit the load does not reach), load shedding (event-loop delay 200 ms, its default: not reached), circuit breaker per service, a deadline per downstream call within the 5 s request budget, retries of reads, persisted-operation checks (`PERSISTED_OPERATIONS=off` so that S1/S2 may send text; a request by hash takes the same path as in production\'s `require`), graphql-armor limits on text, CSRF prevention, compression, HTTP caching headers. The response cache off (`RESPONSE_CACHE=off`): a hit is not the same work as the peers do; it has a row of its own.',
    scenarios: ['S1', 'S2', 'S3', 'S3get', 'S8'],
  },
  bffCache: {
    label: 'mobile-bff, response cache on',
    settings:
      'The BFF as above with its response cache on (the default, in process): after the first request every S8 answer is a hit, answered without executing or calling the catalog (its feed read at most every 2 s, `RESPONSE_CACHE_FEED_CHECK`).',
    scenarios: ['S8'],
  },
  yoga: {
    label: 'stock GraphQL Yoga 5',
    settings:
      '`bench/servers/stockYoga.ts`: `createYoga` on node:http with its defaults (default plugins, parse/validate cache, masked errors) and `@graphql-yoga/plugin-persisted-operations` looking hashes up in the same manifests (`allowArbitraryOperations: true`, so text runs too). No access log, metrics, rate limit, breaker or deadlines.',
    scenarios: ['S1', 'S2', 'S3'],
  },
  mercurius: {
    label: 'Mercurius + graphql-jit',
    settings:
      "`bench/servers/mercurius.ts`: Fastify 5 + Mercurius 16, `jit: 1`, its default parse/validate cache, Fastify's defaults (no logger); persisted queries by Mercurius's documented custom provider (`persistedQueryDefaults.automatic()` reading Apollo's `extensions.persistedQuery`, with `getQueryFromHash` from the same manifests and nothing saved from clients).",
    scenarios: ['S1', 'S2', 'S3'],
  },
  ablation: {
    label: 'mobile-bff, FAST_PATHS=off (ablation)',
    settings:
      'The BFF as above with `FAST_PATHS=off`: no persisted queries compiled at start (graphql-js executes), yoga\'s parse/validate cache off, every token\'s signature verified. An ablation of the BFF\'s own fast paths, not a baseline: no user of stock yoga turns its cache off.',
    scenarios: ['S2', 'S3'],
  },
  ceiling: {
    label: 'bare node:http (ceiling)',
    settings: '`bench/servers/bare.ts`: reads the request body and answers the BFF\'s exact bytes and content type for that scenario, nothing else.',
    scenarios: ['S1', 'S2', 'S3', 'S8'],
  },
  floor: {
    label: 'bare node:http + the same 3 downstream calls (latency floor)',
    settings: "`bench/servers/bareDownstream.ts`: for every request, the three downstream calls the BFF made for S3's (the viewer's profile, the orders page, the products), one after another, to the same proxies with undici, each answer read whole, then the BFF's bytes. No GraphQL and no parsing: its latency is the machine's for a request that waits on downstream (the load generator, the downstream process and loopback share the other core), below which no server's can go.",
    scenarios: ['S3'],
  },
} as const satisfies Record<string, HttpServer>;
export type ServerId = keyof typeof HTTP_SERVERS;

/** The servers the other rows are compared with (their CPU per request ÷ the row's). */
export const BASELINES = ['yoga', 'mercurius', 'ceiling'] as const satisfies readonly ServerId[];
