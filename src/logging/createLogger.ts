import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

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

/** The process's logger: JSON lines (pino) at `level`, with `REDACTED_PATHS` censored. */
export function createLogger({ level }: { level: LoggerOptions['level'] }, destination?: DestinationStream): Logger {
  const options: LoggerOptions = { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}
