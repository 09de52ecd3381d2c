// What one client, or the load as a whole, may ask of this instance: rate limits and overload detection.
export type { RateDecision, RateLimiter, RateLimiterOptions } from './RateLimiter.js';
export { createMemoryRateLimiter } from './createMemoryRateLimiter.js';
export { createRedisRateLimiter } from './createRedisRateLimiter.js';
export { clientAddress } from './clientAddress.js';
export { createEventLoopMonitor, type EventLoopMonitor } from './createEventLoopMonitor.js';
export { createAdmission, refusalError, type Admission, type Refusal } from './createAdmission.js';
