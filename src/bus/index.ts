// Change notices between the reference services and the BFF: in process, Redis, or PostgreSQL LISTEN/NOTIFY.
export type { Bus, BusMessage, BusTopic } from './Bus.js';
export { createBus } from './createBus.js';
export { createInProcessBus } from './createInProcessBus.js';
export { createPostgresBus } from './createPostgresBus.js';
export { createRedisBus } from './createRedisBus.js';
