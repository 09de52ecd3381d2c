// How Apollo's mobile clients cut a `multipart/mixed` body into parts, rule for rule from their
// sources, so a test can hold the server's exact bytes against each. Each function returns the JSON
// objects that client would go on to merge, or throws the error that client would raise.

type Json = Record<string, unknown>;

const jsonObject = (text: string): Json | undefined => {
  try {
    const value = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
};

/** The `boundary` parameter of a Content-Type, quotes removed (both clients read it so). */
export function boundaryOf(contentType: string): string {
  const parameter = contentType
    .split(';')
    .map((p) => p.trim())
    .find((p) => p.startsWith('boundary='));
  if (!parameter) throw new Error('Expected the Content-Type to have a boundary parameter');
  return parameter.slice('boundary='.length).replace(/^["']|["']$/g, '');
}

/** deferSpec=20220824 payload check of both iOS versions (`MultipartResponseDeferParser`): data+hasNext or incremental+hasNext. */
function iosDeferPayload(object: Json): Json {
  const partial = 'data' in object && 'hasNext' in object;
  const incremental = 'incremental' in object && 'hasNext' in object;
  if (!partial && !incremental) throw new Error('cannotParsePayloadData');
  return object;
}

/** Which of Apollo's multipart protocols a body is read as: the payload rules differ, the framing does not. */
export type MultipartSpec = 'deferSpec' | 'subscriptionSpec';

/**
 * subscriptionSpec=1.0 (`MultipartResponseSubscriptionParser` of both iOS versions): any JSON object
 * (`{}` a heartbeat, `{"payload"}` an event, `{"errors"}` a fatal error); the caller reads them.
 */
const payloadOf = (spec: MultipartSpec) => (spec === 'subscriptionSpec' ? (object: Json) => object : iosDeferPayload);

/**
 * Apollo iOS 1.x (`URLSessionClient`, `MultipartResponseParsingInterceptor` + `MultipartResponseDeferParser`, 1.25): the
 * data is split on `\r\n--<boundary>`; chunks that are empty, `--` or `\r\n` are skipped; a chunk's
 * lines are split on `\r\n\r\n`, trimmed of newlines, and each must be a `content-type:` line naming
 * `application/json` or `application/graphql-response+json`, or a JSON object.
 */
export function iosV1Parts(body: string, boundary: string, spec: MultipartSpec = 'deferSpec'): Json[] {
  // URLSessionClient hands the data up to the end of the close delimiter over, then what is left when the task ends.
  const close = `\r\n--${boundary}--`;
  const end = body.lastIndexOf(close);
  const deliveries = end < 0 ? [body] : [body.slice(0, end + close.length), body.slice(end + close.length)];
  const parts: Json[] = [];
  for (const chunk of deliveries.flatMap((data) => data.split(`\r\n--${boundary}`))) {
    if (chunk === '' || chunk === '--' || chunk === '\r\n') continue;
    for (const raw of chunk.split('\r\n\r\n')) {
      const line = raw.replace(/^[\r\n]+|[\r\n]+$/g, '');
      if (line.toLowerCase().startsWith('content-type:')) {
        const directives = line
          .slice('content-type:'.length)
          .split(';')
          .map((d) => d.trim());
        if (!directives.some((d) => d === 'application/json' || d === 'application/graphql-response+json')) throw new Error(`unsupportedContentType(${directives.join(';')})`);
        continue;
      }
      const object = jsonObject(line);
      if (!object) throw new Error(`cannotParseChunkData: ${JSON.stringify(line)}`);
      parts.push(payloadOf(spec)(object));
      break;
    }
  }
  return parts;
}

/**
 * Apollo iOS 2.x (`AsyncHTTPResponseChunkSequence`, `MultipartResponseParsing`): a chunk ends where
 * the bytes read so far end with `\r\n--<boundary>`; one leading CRLF is removed; a chunk starting
 * with `--` (the close delimiter) is dropped. Its lines are split on `\r\n\r\n`, untrimmed: a
 * `Content-Type: ` line's value, up to `; `, must be exactly `application/json` or
 * `application/graphql-response+json`; the first JSON object is the payload.
 */
export function iosV2Parts(body: string, boundary: string, spec: MultipartSpec = 'deferSpec'): Json[] {
  const delimiter = `\r\n--${boundary}`;
  const chunks: string[] = [];
  let buffer = '';
  const format = (chunk: string) => {
    let c = chunk.startsWith('\r\n') ? chunk.slice(2) : chunk;
    if (c.startsWith('--')) c = '';
    return c;
  };
  for (const char of body) {
    buffer += char;
    if (buffer.endsWith(delimiter)) {
      const chunk = format(buffer.slice(0, -delimiter.length));
      buffer = '';
      if (chunk) chunks.push(chunk);
    }
  }
  const rest = format(buffer);
  if (rest) chunks.push(rest);
  const parts: Json[] = [];
  for (const chunk of chunks) {
    let remaining = chunk;
    let payload: Json | undefined;
    while (remaining && !payload) {
      const at = remaining.indexOf('\r\n\r\n');
      const line = at < 0 ? remaining : remaining.slice(0, at);
      remaining = at < 0 ? '' : remaining.slice(at + 4);
      if (line.startsWith('content-type') || line.startsWith('Content-Type')) {
        const valueStart = line.indexOf(': ');
        if (valueStart < 0) throw new Error('cannotParseChunkData');
        const directiveAt = line.indexOf('; ');
        const value = line.slice(valueStart + 2, directiveAt < 0 ? undefined : directiveAt);
        if (value !== 'application/json' && value !== 'application/graphql-response+json') throw new Error(`unsupportedContentType(${value})`);
        continue;
      }
      const object = jsonObject(line);
      if (!object) throw new Error(`cannotParseChunkData: ${JSON.stringify(line)}`);
      payload = payloadOf(spec)(object);
    }
    if (payload) parts.push(payload);
  }
  return parts;
}

/**
 * Apollo Kotlin (`MultipartReader`, okhttp's): an optional preamble up to `\r\n--<boundary>`, then
 * after each delimiter `\r\n` (a part: headers up to an empty line, then the body up to the next
 * `\r\n--<boundary>`) or `--` (the end). Then `V0_1IncrementalResultsMerger`: the first part is the
 * initial payload as it is (an `incremental` in it is never merged), later ones must carry
 * `incremental` to change anything.
 */
export function kotlinParts(body: string, boundary: string): Json[] {
  const dashBoundary = `--${boundary}`;
  const delimiter = `\r\n--${boundary}`;
  let at = body.startsWith(dashBoundary) ? dashBoundary.length : body.indexOf(delimiter) + delimiter.length;
  if (at < dashBoundary.length) throw new Error('premature end of multipart body');
  const parts: Json[] = [];
  for (;;) {
    if (body.startsWith('--', at)) {
      if (parts.length === 0) throw new Error('expected at least 1 part');
      return parts;
    }
    if (!body.startsWith('\r\n', at)) throw new Error('unexpected characters after boundary');
    at += 2;
    const headersEnd = body.indexOf('\r\n\r\n', at);
    const next = body.indexOf(delimiter, at);
    if (next < 0) throw new Error('premature end of multipart body');
    const content = headersEnd >= 0 && headersEnd < next ? body.slice(headersEnd + 4, next) : body.slice(at, next).replace(/^\r\n/, '');
    const object = jsonObject(content);
    if (!object) throw new Error(`not JSON: ${JSON.stringify(content)}`);
    parts.push(object);
    at = next + delimiter.length;
  }
}

/** The parts of a streamed response as they arrive, each with the raw text received up to its end. */
export async function* partsAsTheyArrive(response: Response, boundary = 'graphql'): AsyncGenerator<{ part: Json; receivedSoFar: string }> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let received = '';
  let consumed = 0;
  const delimiter = `\r\n--${boundary}`;
  for (;;) {
    const { done, value } = await reader.read();
    if (value) received += decoder.decode(value, { stream: true });
    for (;;) {
      const start = received.indexOf(delimiter, consumed);
      if (start < 0) break;
      const end = received.indexOf(delimiter, start + delimiter.length);
      if (end < 0) break;
      const chunk = received.slice(start + delimiter.length, end);
      consumed = end;
      const json = chunk.slice(chunk.indexOf('\r\n\r\n') + 4);
      yield { part: JSON.parse(json), receivedSoFar: received };
    }
    if (done) return;
  }
}
