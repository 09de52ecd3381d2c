import { connect } from 'node:net';

export interface WireBytes {
  /** Status line and headers, CRLFs included. */
  headerBytes: number;
  /** What follows the headers, as sent (compressed when it was). */
  bodyBytes: number;
  total: number;
  contentEncoding: string | null;
  status: number;
  /** The body, when it is not compressed. */
  text?: string;
}

/**
 * Sends one HTTP/1.1 request on a fresh connection (`Connection: close`: the server closes it) and counts the bytes
 * that come back: what a phone's radio receives for that answer (TCP/TLS framing aside).
 */
export function wireBytes(url: string, { method = 'POST', headers = {}, body }: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string }): Promise<WireBytes> {
  const { hostname, port, pathname, search } = new URL(url);
  const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(body);
  const head = [`${method} ${pathname}${search} HTTP/1.1`, `Host: ${hostname}:${port}`, 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  if (method === 'POST') head.push(`Content-Length: ${payload.length}`);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(Number(port), hostname, () => socket.write(Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`), payload])));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const all = Buffer.concat(chunks);
      const split = all.indexOf('\r\n\r\n');
      const headerText = all.subarray(0, split).toString('latin1');
      const status = Number(headerText.split(' ')[1]);
      const contentEncoding = /\r\ncontent-encoding: *([^\r]+)/i.exec(headerText)?.[1] ?? null;
      const bodyBytes = all.length - split - 4;
      const chunked = /\r\ntransfer-encoding: *chunked/i.test(headerText);
      resolve({
        headerBytes: split + 4,
        bodyBytes,
        total: all.length,
        contentEncoding,
        status,
        ...(contentEncoding || chunked ? {} : { text: all.subarray(split + 4).toString('utf8') }),
      });
    });
  });
}
