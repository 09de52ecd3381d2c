const encoder = new TextEncoder();

export interface MultipartResponseOptions {
  /** The protocol parameter Apollo's clients pick their parser by, e.g. `deferSpec=20220824`. */
  spec: string;
  /** More headers (caching, vary). */
  headers?: Record<string, string>;
  /** The Fetch API of the server (yoga's `fetchAPI`). */
  fetchAPI: { Response: typeof Response; ReadableStream: typeof ReadableStream };
}

/**
 * A `multipart/mixed` response in the exact bytes Apollo Kotlin (okhttp's MultipartReader), Apollo
 * iOS 1.x (splits on `\r\n--graphql`, rejects any part line it cannot read) and 2.x (chunks at each
 * `\r\n--graphql`) all parse:
 *
 *     \r\n--graphql\r\nContent-Type: application/json\r\n\r\n{…}\r\n--graphql\r\nContent-Type: application/json\r\n\r\n{…}\r\n--graphql--
 *
 * The body opens with CRLF (iOS 1.x reads a body that starts with `--graphql` as a broken part);
 * each part has exactly one header (iOS 2.x reads `Content-Length` after it as part of the content
 * type); the delimiter goes out right after each part (Kotlin and iOS hand a part over only when
 * they see the next delimiter); nothing follows the close delimiter. Each value of `parts` is one part, serialized as JSON; the response
 * ends after the last one. A client going away returns the iterator (stopping the execution).
 */
export function multipartResponse(parts: AsyncIterable<unknown>, { spec, headers = {}, fetchAPI }: MultipartResponseOptions): Response {
  let iterator: AsyncIterator<unknown> | undefined;
  const body = new fetchAPI.ReadableStream<Uint8Array>({
    start(controller) {
      iterator = parts[Symbol.asyncIterator]();
      controller.enqueue(encoder.encode('\r\n--graphql'));
    },
    async pull(controller) {
      try {
        const { done, value } = await iterator!.next();
        if (done) {
          controller.enqueue(encoder.encode('--'));
          controller.close();
          return;
        }
        controller.enqueue(encoder.encode(`\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(value)}\r\n--graphql`));
      } catch (error) {
        controller.error(error);
      }
    },
    async cancel() {
      await iterator?.return?.();
    },
  });
  return new fetchAPI.Response(body, {
    status: 200,
    headers: { 'Content-Type': `multipart/mixed;boundary="graphql";${spec}`, ...headers },
  });
}
