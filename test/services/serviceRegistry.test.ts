import { createInProcessBus } from '../../src/bus/index.js';
import { createDownstreamClient } from '../../src/bff/downstream/createDownstreamClient.js';
import { DownstreamResponseError, DownstreamUnavailableError } from '../../src/bff/downstream/DownstreamErrors.js';
import { createMetrics } from '../../src/bff/metrics/createMetrics.js';
import { ConfigError, loadConfig, loadServiceConfig } from '../../src/config/loadConfig.js';
import { createDatabase, type Database } from '../../src/db/index.js';
import { downstreamServices, serviceEnvName, serviceNames, type DownstreamServices } from '../../src/services/downstreamServices.js';
import { createServiceApp } from '../../src/services/http/createServiceApp.js';
import { referenceServices, type ReferenceService } from '../../src/services/referenceServices.js';
import { startReferenceServices, type ReferenceServices } from '../../src/services/startReferenceServices.js';
import { seededSnapshot } from '../../src/system/seededSnapshot.js';

// Adding a downstream service is one registry entry (src/services/downstreamServices.ts; see
// docs/adding-a-service.md): its environment variables, its start-up, its place in the downstream
// client with a circuit breaker and metric labels of its own all derive from the entry. Here a
// fixture service, `weather`, is registered next to the application's three, as a new entry would be.

/** The fixture's reference implementation: one route, which fails with 500 on cue. */
let failing = false;
function createWeatherService(): ReferenceService {
  const app = createServiceApp('weather');
  app.get('/forecast', async (request, reply) => {
    if (failing) return reply.code(500).send({ code: 'INTERNAL', message: 'weather: internal error' });
    return { city: (request.query as { city?: string }).city, sky: 'clear' };
  });
  return { name: 'weather', app, migrate: async () => {} };
}

const registry = {
  ...downstreamServices,
  weather: { defaultPort: 4099 },
} satisfies DownstreamServices;
/** Its reference implementation next to the application's, as an entry in src/services/referenceServices.ts. */
const implementations = { ...referenceServices, weather: createWeatherService };

describe('the registry', () => {
  it('names the environment variables of each service after it', () => {
    expect(serviceEnvName('weather', 'URL')).toBe('WEATHER_URL');
    expect(serviceEnvName('orderHistory', 'TIMEOUT_MS')).toBe('ORDER_HISTORY_TIMEOUT_MS');
    expect(serviceEnvName('push-notifications', 'PORT')).toBe('PUSH_NOTIFICATIONS_PORT');
  });

  it('is where the application config takes its services from', () => {
    const config = loadConfig({ USERS_URL: 'http://users.internal:8080/', ORDERS_TIMEOUT_MS: '700' });
    expect(Object.keys(config.services)).toEqual(serviceNames);
    expect(config.services.users).toBe('http://users.internal:8080');
    expect(config.servicePorts).toEqual(Object.fromEntries(serviceNames.map((name) => [name, downstreamServices[name].defaultPort])));
    expect(config.resilience.timeoutsMs.orders).toBe(700);
  });
});

describe('a service added to the registry', () => {
  it('gets <NAME>_URL, <NAME>_PORT and <NAME>_TIMEOUT_MS, with the defaults of every service', () => {
    const config = loadServiceConfig({ WEATHER_URL: 'https://weather.internal/', WEATHER_TIMEOUT_MS: '300' }, registry, 2000);
    // The application's services keep their defaults, whichever they are: nothing here names them.
    const each = <T>(value: T) => Object.fromEntries(serviceNames.map((name) => [name, value]));
    expect(config.urls).toEqual({ ...each(undefined), weather: 'https://weather.internal' });
    expect(config.ports.weather).toBe(4099);
    expect(config.timeoutsMs).toEqual({ ...each(2000), weather: 300 });
  });

  it('has its variables validated at start like any other, naming the variable', () => {
    expect(() => loadServiceConfig({ WEATHER_PORT: 'eighty' }, registry)).toThrow(ConfigError);
    expect(() => loadServiceConfig({ WEATHER_PORT: 'eighty' }, registry)).toThrow(/WEATHER_PORT: expected an integer from 0 to 65535, got "eighty"/);
    expect(() => loadServiceConfig({ WEATHER_URL: 'ftp://x' }, registry)).toThrow(/WEATHER_URL: expected a http or https URL/);
  });

  describe('at start-up', () => {
    let database: Database;
    let running: ReferenceServices<keyof typeof registry>;
    const bus = createInProcessBus();
    beforeAll(async () => {
      // From the seeded snapshot rather than initdb (seconds): the fixture migrates its own schema beside the others.
      database = await createDatabase({ dataDir: 'memory://', initialData: await seededSnapshot() });
      running = await startReferenceServices({ database, bus, implementations, names: ['weather'] });
    });
    afterAll(async () => {
      await running?.stop();
      await bus.close();
      await database?.close();
    });

    it('without a reference implementation, is not started in-process: its URL is asked for', async () => {
      await expect(startReferenceServices({ database, bus, implementations: referenceServices, names: ['weather'] as never[] })).rejects.toThrow(/set WEATHER_URL to where it runs/);
    });


    it('answers through its own circuit breaker, counted under its own metric label', async () => {
      const config = loadServiceConfig({ WEATHER_URL: running.urls.weather! }, registry);
      const metrics = createMetrics({ defaultMetrics: false });
      const client = createDownstreamClient({
        urls: { weather: config.urls.weather! },
        timeoutMs: { weather: config.timeoutsMs.weather },
        retries: 0,
        breaker: { minRequests: 2, errorPercent: 50, resetMs: 60_000 },
        metrics,
      });
      try {
        const forecast = { path: '/forecast?city=Oslo', route: 'GET /forecast' };
        expect((await client.call<{ city: string; sky: string }>('weather', forecast)).body).toEqual({ city: 'Oslo', sky: 'clear' });
        expect(client.breakerState('weather')).toBe('closed');

        failing = true;
        for (let i = 0; i < 2; i += 1) await expect(client.call('weather', forecast)).rejects.toBeInstanceOf(DownstreamResponseError);
        // Its breaker opened: the next call fails fast, and the service never sees it.
        expect(client.breakerState('weather')).toBe('open');
        const before = await (await fetch(`${running.urls.weather}/stats`)).json();
        await expect(client.call('weather', forecast)).rejects.toBeInstanceOf(DownstreamUnavailableError);
        expect(await (await fetch(`${running.urls.weather}/stats`)).json()).toEqual(before);

        const text = await metrics.registry.metrics();
        expect(text).toContain('bff_downstream_requests_total{service="weather",route="GET /forecast",status="200"} 1');
        expect(text).toContain('bff_downstream_requests_total{service="weather",route="GET /forecast",status="500"} 2');
        expect(text).toContain('bff_circuit_breaker_state{service="weather",state="open"} 1');
        expect(text).toContain('bff_circuit_breaker_rejections_total{service="weather"} 1');
      } finally {
        failing = false;
        await client.close();
      }
    });
  });

});
