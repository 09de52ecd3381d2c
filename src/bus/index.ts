// Change notices between the reference services and the BFF: in-process by default.
export type { Bus, BusMessage, BusTopic } from './Bus.js';
export { createInProcessBus } from './createInProcessBus.js';
