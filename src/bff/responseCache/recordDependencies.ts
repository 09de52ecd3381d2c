import type { DownstreamCall, ScopedDownstream } from '../downstream/createDownstreamClient.js';
import { DownstreamUnavailableError } from '../downstream/DownstreamErrors.js';
import { dependenciesOfCall, type Entity } from './entities.js';

/** What one request's execution read: what its result holds, and whether it may be shared. */
export interface Dependencies {
  entities: Set<Entity>;
  /** The services it called successfully. */
  services: Set<string>;
  /** The services that were unavailable (breaker open, timeout, 429/502/503/504, unreachable). */
  unavailable: Set<string>;
  /** Every change of what it read is announced (notices, feeds): the cache may keep it past a zero max age. */
  announced: boolean;
  /** It read a user's own data: the result is that user's. */
  personal: boolean;
  /** A resolver read `context.viewer`: the result depends on who asks. */
  viewerRead: boolean;
  /** It changed something downstream: never cached. */
  write: boolean;
}

export function createDependencies(): Dependencies {
  return { entities: new Set(), services: new Set(), unavailable: new Set(), announced: true, personal: false, viewerRead: false, write: false };
}

/**
 * The request's downstream calls, each recorded in `dependencies` with what it read. Every read
 * of a request goes through its scoped downstream (its loaders batch over it), so the record is
 * exactly what the result was built from.
 */
export function recordDependencies(downstream: ScopedDownstream, dependencies: Dependencies): ScopedDownstream {
  return {
    async call<T>(service: Parameters<ScopedDownstream['call']>[0], spec: DownstreamCall) {
      const method = spec.method ?? 'GET';
      try {
        const response = await downstream.call<T>(service, spec);
        const read = dependenciesOfCall(service, method, spec.path, response.body);
        for (const entity of read.entities) dependencies.entities.add(entity);
        dependencies.services.add(service);
        if (!read.announced) dependencies.announced = false;
        if (read.personal) dependencies.personal = true;
        if (read.write) dependencies.write = true;
        return response;
      } catch (error) {
        if (error instanceof DownstreamUnavailableError) dependencies.unavailable.add(service);
        if (method !== 'GET') dependencies.write = true;
        throw error;
      }
    },
  };
}
