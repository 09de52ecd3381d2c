import { Writable } from 'node:stream';
import { createLogger } from '../../src/logging/createLogger.js';

/** The lines a logger at `info` writes, parsed. */
function capture() {
  const lines: Record<string, any>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger({ level: 'info' }, destination), lines };
}

describe('log redaction', () => {
  it('censors credentials and personal data at the top level, on known paths and one level down in any object', () => {
    const { logger, lines } = capture();
    const user = { id: 'u1', email: 'someone@example.com' };
    const headers = { Authorization: 'Bearer secret', accept: 'application/json' };
    const error = Object.assign(new Error('downstream said no'), { authorization: 'Bearer leaked', body: { email: 'x@example.com' } });
    logger.info({ user, headers, req: { headers: { cookie: 'sid=1', host: 'h' } }, connectionParams: { authToken: 't' }, variables: { email: 'v' }, token: 't', err: error, count: 3, list: [{ email: 'kept in arrays, as pino does' }] }, 'line');
    const [line] = lines;
    expect(line).toMatchObject({
      msg: 'line',
      user: { id: 'u1', email: '[redacted]' },
      headers: { Authorization: '[redacted]', accept: 'application/json' },
      req: { headers: { cookie: '[redacted]', host: 'h' } },
      connectionParams: '[redacted]',
      variables: '[redacted]',
      token: '[redacted]',
      count: 3,
      err: { type: 'Error', message: 'downstream said no', authorization: '[redacted]', body: '[redacted]' },
    });
    expect(line!.err.stack).toContain('downstream said no');
    // The objects logged are not changed.
    expect(user.email).toBe('someone@example.com');
    expect(headers.Authorization).toBe('Bearer secret');
    expect(error.authorization).toBe('Bearer leaked');
  });

  it('writes a line with nothing to censor as it is', () => {
    const { logger, lines } = capture();
    logger.child({ requestId: 'r1' }).info({ method: 'POST', path: '/graphql', status: 200, ms: 3 }, 'request');
    expect(lines[0]).toMatchObject({ requestId: 'r1', method: 'POST', path: '/graphql', status: 200, ms: 3, msg: 'request' });
  });
});
