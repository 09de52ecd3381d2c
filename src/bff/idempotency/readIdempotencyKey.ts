import { clientError, ErrorCode } from '../errors/index.js';

/** The longest key accepted (the IETF Idempotency-Key draft and Stripe use 255). */
export const MAX_KEY_LENGTH = 255;

const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

export interface KeySources {
  /** The mutation field, for messages. */
  field: string;
  /** `input.idempotencyKey` as the client sent it. */
  inputKey: string | null | undefined;
  /** The `Idempotency-Key` header, raw; `null` when absent. */
  headerKey: string | null;
  /** How many mutation fields the document executes. */
  mutationFields: number;
}

/**
 * The key of one `@idempotent` field: `input.idempotencyKey`, or the `Idempotency-Key` header
 * when the document has exactly one mutation field (with more, one header cannot say which field
 * it is for, so it is refused rather than guessed). A key is 1 to 255 visible ASCII characters;
 * the header may also be an RFC 8941 string (`"…"`), as the IETF draft writes it.
 * Throws `IDEMPOTENCY_KEY_REQUIRED` without a key and `BAD_USER_INPUT` for a bad one.
 */
export function readIdempotencyKey({ field, inputKey, headerKey, mutationFields }: KeySources): string {
  const fromInput = inputKey == null ? undefined : checked(inputKey, `${field}(input.idempotencyKey)`);
  let fromHeader: string | undefined;
  if (headerKey !== null) {
    if (mutationFields !== 1) {
      throw clientError(
        ErrorCode.BadUserInput,
        `The Idempotency-Key header is the key of a document's only mutation field, and this document has ${mutationFields}: give each field its own input.idempotencyKey, and send no header.`,
      );
    }
    fromHeader = checked(unquote(headerKey.trim()), 'The Idempotency-Key header');
  }
  if (fromInput !== undefined && fromHeader !== undefined && fromInput !== fromHeader) {
    throw clientError(ErrorCode.BadUserInput, `${field}: input.idempotencyKey and the Idempotency-Key header differ; send one key.`);
  }
  const key = fromInput ?? fromHeader;
  if (key === undefined) {
    throw clientError(
      ErrorCode.IdempotencyKeyRequired,
      `${field} needs an idempotency key: input.idempotencyKey, or the Idempotency-Key header. Make one (e.g. a UUID) per user action and send it again with every retry of that action.`,
    );
  }
  return key;
}

function checked(key: string, where: string): string {
  if (key.length >= 1 && key.length <= MAX_KEY_LENGTH && VISIBLE_ASCII.test(key)) return key;
  const got = key.length > MAX_KEY_LENGTH ? `${key.length} characters` : JSON.stringify(key);
  throw clientError(ErrorCode.BadUserInput, `${where}: expected an idempotency key of 1 to ${MAX_KEY_LENGTH} visible ASCII characters (e.g. a UUID), got ${got}.`);
}

function unquote(value: string): string {
  const quoted = /^"((?:[^"\\]|\\["\\])*)"$/.exec(value);
  return quoted ? quoted[1]!.replace(/\\(["\\])/g, '$1') : value;
}
