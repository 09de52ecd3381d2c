import { isStorableText } from '../util/storableText.js';

// Control characters (NUL included) and unpaired surrogates: nothing a display name needs, and
// the first and last are what a database refuses.
const UNWANTED = /[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * The profile claims of a verified token (`name`, `email`), made safe to pass on: an identity
 * provider's token is signed, not necessarily clean, and the users service creates the profile
 * from these. A name loses its control characters and unpaired surrogates and is cut to 200
 * characters; an email that is not one after that is dropped. Whatever is left empty is absent.
 */
export function profileClaims(payload: Record<string, unknown>): { name?: string; email?: string } {
  const name = typeof payload.name === 'string' ? payload.name.replace(UNWANTED, '').trim().slice(0, 200).trim() : '';
  const email = typeof payload.email === 'string' ? payload.email.replace(UNWANTED, '').trim() : '';
  return {
    ...(name && isStorableText(name) ? { name } : {}),
    ...(email.length <= 320 && EMAIL.test(email) ? { email } : {}),
  };
}
