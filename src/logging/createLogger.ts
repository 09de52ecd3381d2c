import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import pinoPretty from 'pino-pretty';

/**
 * Paths never written to a log: credentials, and personal data that could ride along on an
 * error (a downstream body, request variables, a user's profile). The code logs none of them on
 * purpose; this is the net under it.
 */
export const REDACTED_PATHS = [
  'authorization',
  'cookie',
  '*.authorization',
  '*.Authorization',
  '*.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  'connectionParams',
  'variables',
  'token',
  'email',
  '*.email',
  'err.body',
  'body',
];

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
  const options: LoggerOptions = { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  return pino(options, destination);
}
