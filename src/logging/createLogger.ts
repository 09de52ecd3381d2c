import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import pinoPretty from 'pino-pretty';

/** sonic-boom, as pino makes it. */
type SonicBoom = ReturnType<typeof pino.destination>;

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
/** Lines are handed to the file descriptor's writer in batches of at least this many characters. */
const BATCH_CHARS = 4096;

/** Every batcher of the process, each drained at exit (each lives as long as its flush timer: for good). */
const batchers = new Set<LineBatcher>();

/**
 * A pino destination that joins lines into `BATCH_CHARS` batches before handing them to `out`
 * (sonic-boom, which does the writing: partial writes, `EAGAIN`, a closed pipe). Why not give
 * sonic-boom each line (issue 15): for every line it measures the UTF-8 length of the whole batch
 * it is appending to (`Buffer.byteLength` of a string of up to 16 KB, flattened again each time),
 * ~4 µs of the access log's line per request. Here a line costs a push onto an array.
 */
class LineBatcher implements DestinationStream {
  private lines: string[] = [];
  private chars = 0;

  constructor(private readonly out: SonicBoom) {
    batchers.add(this);
    if (batchers.size === 1) {
      // At exit the lines held here are written (synchronously, as `out` writes), first of
      // anything else listening. One pair of listeners for every batcher of the process.
      const drainAll = () => batchers.forEach((batcher) => batcher.drain());
      process.prependListener('exit', drainAll);
      process.prependListener('beforeExit', drainAll);
    }
  }

  write(line: string): void {
    this.lines.push(line);
    this.chars += line.length;
    if (this.chars >= BATCH_CHARS) this.drain();
  }

  /** Hands every line held here to `out`. */
  drain(): void {
    if (this.lines.length === 0) return;
    const batch = this.lines.join('');
    this.lines = [];
    this.chars = 0;
    this.out.write(batch);
  }

  /** Writes every line held here and in `out` (pino's `logger.flush`, and the timer below). */
  flush(callback?: (error?: Error) => void): void {
    this.drain();
    this.out.flush(callback);
  }

  flushSync(): void {
    this.drain();
    this.out.flushSync();
  }
}

/**
 * stdout, buffered: written in 4 KB batches, and at least every `FLUSH_INTERVAL_MS`; the batcher
 * drains the rest at exit. Each batch is written synchronously (`sync: true`, as node writes
 * `process.stdout` to a file or a pipe on Linux): an asynchronous write goes through libuv's
 * thread pool, whose thread then competes for the server's core with the event loop, and on a
 * pinned core that cost more than the write itself (issue 15, paired runs of the bench's BFF:
 * 8–13% of the CPU per request of `{ __typename }` at ~10,000 requests/s, ~3% of the orders
 * screen's at ~1,000/s). A collector that stops reading stdout blocks the process once the pipe
 * is full, as it would block `console.log`.
 */
function bufferedStdout(): DestinationStream {
  const batcher = new LineBatcher(pino.destination({ dest: 1, sync: true }));
  setInterval(() => batcher.flush(), FLUSH_INTERVAL_MS).unref();
  return batcher;
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
 * lines, buffered (one write per 4 KB of lines or per 250 ms, not one write per line, that is
 * per request with the access log); or, with `format: 'pretty'`, readable lines.
 */
export function createLogger({ level, format = 'json' }: LoggerOptionsOf, destination: DestinationStream = format === 'pretty' ? readableStdout() : bufferedStdout()): Logger {
  // Child bindings in this code are ids (strings): `censorNested` runs on every line's object.
  const options: LoggerOptions = { level, redact: { paths: REDACTED_PATHS, censor: CENSOR }, formatters: { log: censorNested } };
  return pino(options, destination);
}
