import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import pinoPretty from 'pino-pretty';

/**
 * Paths never written to a log: credentials, and personal data that could ride along on an
 * error (a downstream body, request variables, a user's profile). The code logs none of them on
 * purpose; this is the net under it. These exact paths are pino's own redaction; the same keys one
 * level down in any object (`*.authorization`, …) are `NESTED_REDACTED_KEYS`.
 */
export const REDACTED_PATHS = [
  'authorization',
  'cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  'connectionParams',
  'variables',
  'token',
  'email',
  'err.body',
  'body',
];

/**
 * Keys censored in any object logged as a property of a line (pino's `*.authorization`,
 * `*.Authorization`, `*.cookie`, `*.email`), by `censorNested` below rather than by pino: with a
 * path that starts with a wildcard, pino runs its redactor (@pinojs/redact) on every property of
 * every line, numbers and strings included, and that redactor parses all its paths again on each
 * call — for the access log's one line per request, four redactor calls and ~10 KB of garbage
 * (issue 15). `censorNested` looks at the objects only and copies nothing unless there is
 * something to censor.
 */
export const NESTED_REDACTED_KEYS = ['authorization', 'Authorization', 'cookie', 'email'] as const;
const CENSOR = '[redacted]';

/** A copy of `value` (its prototype and every own property kept) with `keys` censored. */
function censoredCopy(value: object, keys: readonly string[]): object {
  const copy = Object.create(Object.getPrototypeOf(value), Object.getOwnPropertyDescriptors(value)) as Record<string, unknown>;
  for (const key of keys) Object.defineProperty(copy, key, { value: CENSOR, enumerable: true, writable: true, configurable: true });
  return copy;
}

/** The keys of `NESTED_REDACTED_KEYS` that `value` has as its own, if it is an object (arrays are skipped, as pino's wildcard skips them). */
function nestedKeysOf(value: unknown): string[] | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  let found: string[] | undefined;
  for (const key of NESTED_REDACTED_KEYS) if (Object.prototype.hasOwnProperty.call(value, key)) (found ??= []).push(key);
  return found;
}

/** A line's object with `NESTED_REDACTED_KEYS` censored one level down: the object itself when none is there. */
export function censorNested<T extends Record<string, unknown>>(line: T): T {
  let out: Record<string, unknown> | undefined;
  for (const key in line) {
    const value = line[key];
    const keys = nestedKeysOf(value);
    if (!keys) continue;
    out ??= { ...line };
    out[key] = censoredCopy(value as object, keys);
  }
  return (out ?? line) as T;
}

/** Longest a log line waits in the buffer of the default destination, in ms. */
const FLUSH_INTERVAL_MS = 250;

/** stdout, buffered: written in 4 KB batches, and at least every `FLUSH_INTERVAL_MS`; pino flushes the rest at exit. */
function bufferedStdout(): DestinationStream {
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  setInterval(() => destination.flush(), FLUSH_INTERVAL_MS).unref();
  return destination;
}

/**
 * stdout for a person: one line per entry, time, level and message first, the rest as compact
 * JSON after them (pino-pretty, in this process: no worker thread for a development terminal).
 */
function readableStdout(): DestinationStream {
  return pinoPretty({ colorize: true, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', destination: 1, sync: false });
}

export interface LoggerOptionsOf {
  level: LoggerOptions['level'];
  /** `json` (a log collector's format) or `pretty` (readable lines for a terminal). @default 'json' */
  format?: 'json' | 'pretty';
}

/**
 * The process's logger at `level`, with `REDACTED_PATHS` censored. By default to stdout: JSON
 * lines, buffered (one write per 4 KB of lines or per 250 ms, not one blocking write per line,
 * that is per request with the access log); or, with `format: 'pretty'`, readable lines.
 */
export function createLogger({ level, format = 'json' }: LoggerOptionsOf, destination: DestinationStream = format === 'pretty' ? readableStdout() : bufferedStdout()): Logger {
  // Child bindings in this code are ids (strings): `censorNested` runs on every line's object.
  const options: LoggerOptions = { level, redact: { paths: REDACTED_PATHS, censor: CENSOR }, formatters: { log: censorNested } };
  return pino(options, destination);
}
