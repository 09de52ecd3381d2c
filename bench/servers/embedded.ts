import { loadConfigOrExit } from '../../src/config/loadConfig.js';
import { startSystem } from '../../src/system/startSystem.js';

// S6 fan-out: the whole system in one process, as `npm start` runs it on the embedded defaults
// (reference services in process, in-memory PGlite, the in-process bus), so that a change
// committed by the orders service reaches the BFF's subscribers by the same path as in
// production. Unlike `dist/src/main.js` it prints the services' URLs, which the benchmark uses
// to change an order as the fulfilment side would (`POST /orders/:number/status`).
//
// Prints one JSON line `{"graphql":"http://…/graphql","services":{…}}` once listening.

const config = loadConfigOrExit();
const system = await startSystem({ config });
process.stdout.write(`${JSON.stringify({ graphql: system.url, services: system.serviceUrls })}\n`);
process.once('SIGTERM', () => {
  void system.stop().finally(() => process.exit(0));
});
