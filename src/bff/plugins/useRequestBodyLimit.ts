import { createGraphQLError } from '@graphql-tools/utils';
import type { Plugin } from 'graphql-yoga';

const CONTENT_LENGTH = /^\d+$/;

const tooLarge = () => createGraphQLError('Request body too large', { extensions: { http: { status: 413 }, code: 'REQUEST_ENTITY_TOO_LARGE' } });
const badLength = () => createGraphQLError('Content-Length header is invalid.', { extensions: { http: { status: 400 }, code: 'BAD_REQUEST' } });

/**
 * yoga's `maxRequestBodySize`, with the same answers (413 `Request body too large`, 400 for an
 * invalid `Content-Length`), without its cost on every request: yoga pipes every body through a
 * TransformStream to count its bytes (a stream pipeline, an AbortController and a DOMException per
 * request, about a tenth of a small request's CPU). A body with a valid `Content-Length` within
 * the limit needs no counting: node's HTTP parser reads exactly that many bytes as its body. Only
 * a body without one (chunked) is counted as it is read. Last of the plugins, so that it wraps the
 * request parser that was chosen.
 */
export function useRequestBodyLimit(limit: number): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      const contentLength = request.headers.get('content-length');
      if (contentLength != null) {
        if (!CONTENT_LENGTH.test(contentLength)) throw badLength();
        if (Number(contentLength) > limit) throw tooLarge();
        return;
      }
      if (requestParser == null || request.body == null) return;
      const parse = requestParser;
      setRequestParser((req) => parse(counted(req, limit, fetchAPI)));
    },
  };
}

/** `request` whose body fails with `tooLarge` once more than `limit` bytes have been read (as yoga's `limitRequestBodySize`). */
function counted(request: Request, limit: number, fetchAPI: { Request: typeof Request; TransformStream: typeof TransformStream }): Request {
  const body = request.body!;
  // A native ReadableStream needs the native TransformStream (graphql-yoga issue 4583).
  const Transform = body instanceof ReadableStream ? globalThis.TransformStream : fetchAPI.TransformStream;
  let read = 0;
  const limited = body.pipeThrough(
    new Transform<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        read += chunk.byteLength;
        if (read > limit) return controller.error(tooLarge());
        controller.enqueue(chunk);
      },
    }),
  );
  return new fetchAPI.Request(request.url, { method: request.method, headers: request.headers, signal: request.signal, body: limited, duplex: 'half' } as RequestInit);
}
