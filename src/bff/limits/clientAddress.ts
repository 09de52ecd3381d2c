/**
 * The client's IP: the socket's peer, or, behind `trustedHops` reverse proxies, the address the
 * outermost trusted proxy saw, i.e. the `trustedHops`-th entry of `X-Forwarded-For` from the
 * right. Entries further left are the client's to write, so they are never believed.
 */
export function clientAddress(remoteAddress: string | undefined, forwardedFor: string | null, trustedHops: number): string {
  if (trustedHops > 0 && forwardedFor) {
    const hops = forwardedFor.split(',').map((s) => s.trim()).filter(Boolean);
    const entry = hops[Math.max(0, hops.length - trustedHops)];
    if (entry) return entry;
  }
  return remoteAddress ?? 'unknown';
}
