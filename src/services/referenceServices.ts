import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { PushConfig } from './notifications/PushConfig.js';
import type { Bus } from '../bus/index.js';
import type { Database } from '../db/index.js';
import { createCatalogService } from './catalog/createCatalogService.js';
import type { ServiceName } from './downstreamServices.js';
import { createNotificationsService } from './notifications/createNotificationsService.js';
import { createOrdersService } from './orders/createOrdersService.js';
import { createUsersService } from './users/createUsersService.js';

/** What a reference implementation's factory gets. */
export interface ReferenceServiceOptions {
  database: Database;
  bus: Bus;
  /** How long a change feed keeps the tombstones of deleted rows, in days. */
  tombstoneRetentionDays: number;
  /** How the notifications service sends pushes; unset: it keeps the registry and sends nothing. */
  push?: PushConfig | undefined;
  logger?: Logger | undefined;
}

/** A reference implementation, created but not yet listening. */
export interface ReferenceService {
  name: string;
  app: FastifyInstance;
  /** Creates or upgrades its own schema. */
  migrate(): Promise<unknown>;
  /** Present when it keeps a change feed: deletes tombstones past their retention (run hourly) and says how many. */
  purgeTombstones?(): Promise<number>;
  /** Present when it does background work: started once every service listens, with every service's URL. */
  start?(context: { urls: Partial<Record<string, string>> }): Promise<void>;
  /** Stops that work, before the app closes. */
  stop?(): Promise<void>;
}

export type ReferenceServiceFactory = (options: ReferenceServiceOptions) => ReferenceService;

/**
 * The reference implementation of each registered service (src/services/downstreamServices.ts)
 * that has one: `npm start` runs it in-process when its `<NAME>_URL` is unset, `npm run services`
 * on its `<NAME>_PORT`. A service without one here must be given a `<NAME>_URL`.
 */
export const referenceServices: Partial<Record<ServiceName, ReferenceServiceFactory>> = {
  users: createUsersService,
  catalog: createCatalogService,
  orders: createOrdersService,
  notifications: createNotificationsService,
};
