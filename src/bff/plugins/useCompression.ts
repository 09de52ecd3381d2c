import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import type { Plugin } from 'graphql-yoga';

const brotli = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

/** The preferred encoding among br and gzip per `Accept-Encoding` (q-values honoured), or undefined. */
export function chooseEncoding(acceptEncoding: string | null): 'br' | 'gzip' | undefined {
  if (!acceptEncoding) return undefined;
  let best: { encoding: 'br' | 'gzip'; q: number } | undefined;
  for (const part of acceptEncoding.split(',')) {
    const [token, ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!(q > 0)) continue;
    const encoding = token === 'br' ? 'br' : token === 'gzip' ? 'gzip' : undefined;
    if (encoding && (!best || q > best.q || (q === best.q && encoding === 'br'))) best = { encoding, q };
  }
  return best?.encoding;
}

/** `body` in `encoding`, as every compressed answer is: brotli at quality 4, gzip at level 6. */
export function compress(body: Buffer, encoding: 'br' | 'gzip'): Promise<Buffer<ArrayBuffer>> {
  return encoding === 'br' ? brotli(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 4, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } }) : gzipAsync(body, { level: 6 });
}

/**
 * Compresses JSON responses larger than `threshold` bytes with brotli (quality 4: most of the gain
 * for a fraction of the CPU of the default 11) or gzip, per `Accept-Encoding`. Streams (SSE,
 * multipart) and small bodies are left alone: below ~1 KB the headers cost more than is saved.
 */
export function useCompression({ threshold = 1024 }: { /** @default 1024 */ threshold?: number } = {}): Plugin {
  return {
    async onResponse({ request, response, setResponse, fetchAPI }) {
      const type = response.headers.get('content-type') ?? '';
      if (!response.body || response.headers.has('content-encoding') || !type.includes('json')) return;
      const encoding = chooseEncoding(request.headers.get('accept-encoding'));
      if (!encoding) return;
      const length = Number(response.headers.get('content-length') ?? NaN);
      if (length < threshold) return;
      const body = Buffer.from(await response.arrayBuffer());
      const headers = new fetchAPI.Headers(response.headers);
      headers.append('vary', 'Accept-Encoding');
      if (body.length < threshold) {
        setResponse(new fetchAPI.Response(body, { status: response.status, headers }));
        return;
      }
      const compressed = await compress(body, encoding);
      headers.set('content-encoding', encoding);
      headers.set('content-length', String(compressed.length));
      setResponse(new fetchAPI.Response(compressed, { status: response.status, headers }));
    },
  };
}
