import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';

export interface MultipartStream {
  status: number;
  /** The response headers as node:http gives them (names lowercased, values as sent). */
  headers: IncomingHttpHeaders;
  /** Every byte received so far, as text. */
  readonly text: string;
  /** Resolves once the body received so far satisfies `predicate` (checked on every chunk), or rejects when the response ends first or after `ms`. */
  until(predicate: (text: string) => boolean, ms?: number): Promise<string>;
  /** Resolves with the whole body once the server ends it. */
  ended: Promise<string>;
  /** The client goes away. */
  close(): void;
}

/**
 * An HTTP request whose response is read as raw bytes as they arrive: for asserting a streamed
 * answer byte for byte (multipart subscriptions), as Apollo's clients parse it.
 */
export function multipartRequest(url: string, { method = 'POST', headers = {}, body }: { method?: string; headers?: Record<string, string>; body?: string }): Promise<MultipartStream> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers: { ...headers, ...(body ? { 'content-length': String(Buffer.byteLength(body)) } : {}) } }, (res) => {
      let text = '';
      let done = false;
      const waiters = new Set<() => void>();
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        waiters.forEach((w) => w());
      });
      const ended = new Promise<string>((resolveEnd) =>
        res.once('close', () => {
          done = true;
          waiters.forEach((w) => w());
          resolveEnd(text);
        }),
      );
      resolve({
        status: res.statusCode!,
        headers: res.headers,
        get text() {
          return text;
        },
        ended,
        close: () => req.destroy(),
        until(predicate, ms = 10_000) {
          return new Promise((resolveUntil, rejectUntil) => {
            const check = () => {
              if (predicate(text)) {
                waiters.delete(check);
                clearTimeout(timer);
                resolveUntil(text);
              } else if (done) {
                waiters.delete(check);
                clearTimeout(timer);
                rejectUntil(new Error(`the response ended first: ${JSON.stringify(text)}`));
              }
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              rejectUntil(new Error(`not in time; received: ${JSON.stringify(text)}`));
            }, ms);
            waiters.add(check);
            check();
          });
        },
      });
    });
    req.once('error', reject);
    req.end(body);
  });
}
