import { clientError, ErrorCode } from '../errors/index.js';
import type { Context } from '../context.js';
import type { UserError } from '../generated/resolvers.js';

/** The viewer's verified claims, or an `UNAUTHENTICATED` error for an anonymous request. */
export function requireViewer(ctx: Context) {
  if (!ctx.viewer) throw clientError(ErrorCode.Unauthenticated, 'Sign in: this needs a valid bearer token.');
  return ctx.viewer;
}

/** `url` scaled to fit `size` × `size` pixels (an image-CDN query, `?w=&h=`); `size` must be 16 to 2048. */
export function sizedImageUrl(url: string | null, size: number | null | undefined, fallback: number): string | null {
  if (!url) return null;
  const px = size ?? fallback;
  if (!Number.isInteger(px) || px < 16 || px > 2048) {
    throw clientError(ErrorCode.BadUserInput, `size: expected 16 to 2048 pixels, got ${px}.`, { argument: 'size' });
  }
  const u = new URL(url);
  u.searchParams.set('w', String(px));
  u.searchParams.set('h', String(px));
  return u.toString();
}

export const userError = (code: UserError['code'], message: string, field: string[] | null = null): UserError => ({ code, message, field });

export const money = (amount: number, currency: string) => ({ amount, currency });
