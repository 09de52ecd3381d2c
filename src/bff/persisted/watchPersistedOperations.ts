import { watch, type FSWatcher } from 'node:fs';
import type { GraphQLSchema } from 'graphql';
import type { CompiledQuery } from 'graphql-jit';
import type { Logger } from 'pino';
import { compilePersistedQueries } from './compilePersistedQueries.js';
import { loadPersistedOperations, type PersistedOperations } from './loadPersistedOperations.js';

/** What requests are served from: the manifests' operations and, with fast paths, their compiled queries. */
export interface ServedOperations {
  operations: PersistedOperations;
  compiled: ReadonlyMap<string, CompiledQuery> | undefined;
}

export interface WatchPersistedOperationsOptions {
  schema: GraphQLSchema;
  /** The manifest folder (`PERSISTED_QUERIES_DIR`). */
  dir: string;
  /** Compile every persisted query (graphql-jit), at start and on every reload. */
  compile: boolean;
  logger: Logger;
  /** Quiet time after the last change in the folder before it is reloaded, so a copy of several files is one reload. @default 250 */
  debounceMs?: number;
  /** After every reload attempt: `applied` (the new set serves) or `refused` (the previous one still does). */
  onReload?: (result: 'applied' | 'refused') => void;
  /**
   * Refuse a reload that leaves no operation (`PERSISTED_OPERATIONS=require`: every request would
   * be refused, as start-up refuses such a folder). @default false
   */
  refuseEmpty?: boolean;
}

/**
 * The persisted operations, reloaded without a restart. Creating it loads the folder as the server
 * always did at start: a `ManifestError` there means the server must not start. `start()` watches
 * the folder (`fs.watch`, debounced) and `reload()` (SIGHUP) reloads on demand: every manifest is
 * parsed, validated against the schema and compiled exactly as at start, and only a set that
 * passes as a whole replaces the one serving; a broken manifest is refused and logged, and the
 * previous set keeps serving. A request holds the set it started with (`current` is read once per
 * request), so a reload never changes an operation under a running request.
 */
export function watchPersistedOperations({ schema, dir, compile, logger, debounceMs = 250, onReload, refuseEmpty = false }: WatchPersistedOperationsOptions) {
  // A reload prepares only the operations it has not seen: a release adds a few to many.
  const load = (previous?: ServedOperations): ServedOperations => {
    const operations = loadPersistedOperations(schema, dir, previous ? { previous: previous.operations } : {});
    return { operations, compiled: compile ? compilePersistedQueries(schema, operations, previous?.compiled) : undefined };
  };
  let current = load();
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;

  function reload(reason: string): boolean {
    let next: ServedOperations;
    try {
      next = load(current);
      if (refuseEmpty && next.operations.byId.size === 0) {
        throw new Error(`no persisted operation left in ${dir}, and PERSISTED_OPERATIONS=require runs only those: every request would be refused`);
      }
    } catch (error) {
      logger.error({ dir, reason, err: error }, 'persisted-operation manifests refused; the previous set keeps serving');
      onReload?.('refused');
      return false;
    }
    const before = new Set(current.operations.files);
    const after = new Set(next.operations.files);
    current = next;
    logger.info(
      {
        dir,
        reason,
        manifests: next.operations.files.length,
        operations: next.operations.byId.size,
        added: [...after].filter((f) => !before.has(f)),
        removed: [...before].filter((f) => !after.has(f)),
      },
      'persisted-operation manifests reloaded',
    );
    onReload?.('applied');
    return true;
  }

  return {
    /** The set serving now. */
    get current(): ServedOperations {
      return current;
    },
    /** Reloads the folder now (SIGHUP). `false`: refused and logged, the previous set still serves. */
    reload: () => reload('reload requested'),
    /** Watches the folder: a manifest added, changed or removed is reloaded `debounceMs` after the last change. */
    start() {
      if (watcher) return;
      try {
        // Every event, not only `*.json` ones: a Kubernetes ConfigMap volume swaps a `..data` symlink.
        watcher = watch(dir, { persistent: false }, () => {
          clearTimeout(timer);
          timer = setTimeout(() => reload('folder changed'), debounceMs);
          timer.unref();
        });
        watcher.on('error', (error) => logger.warn({ dir, err: error }, 'watching the manifest folder failed; manifests now reload only on SIGHUP'));
      } catch (error) {
        logger.warn({ dir, err: error }, 'cannot watch the manifest folder; manifests reload only on SIGHUP');
      }
    },
    stop() {
      clearTimeout(timer);
      watcher?.close();
      watcher = undefined;
    },
  };
}

export type PersistedOperationsWatcher = ReturnType<typeof watchPersistedOperations>;
