// A NUL, or half of a surrogate pair (JSON's "\ud800" parses to one): PostgreSQL refuses the
// first in text, and the second cannot be encoded as UTF-8 at all. Either would reach a service
// only to be answered with an error, so the BFF refuses them as the client's input.
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Whether `text` can be stored and sent on as it is: no NUL character, no unpaired surrogate. */
export function isStorableText(text: string): boolean {
  return !UNSTORABLE.test(text);
}

/**
 * The path (`variables.input.name`, `variables.ids[2]`) of the first string in a JSON value that
 * is not storable text, keys included; `undefined` when there is none. Iterative, so a deeply
 * nested value cannot exhaust the stack.
 */
export function findUnstorableText(value: unknown, root: string): string | undefined {
  const pending: [unknown, string][] = [[value, root]];
  while (pending.length) {
    const [current, path] = pending.pop()!;
    if (typeof current === 'string') {
      if (!isStorableText(current)) return path;
    } else if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) pending.push([current[i], `${path}[${i}]`]);
    } else if (current !== null && typeof current === 'object') {
      for (const [key, item] of Object.entries(current)) {
        if (!isStorableText(key)) return path;
        pending.push([item, `${path}.${key}`]);
      }
    }
  }
  return undefined;
}
