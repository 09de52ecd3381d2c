import type { ClientIdentity } from './createClientVersionPolicy.js';

export const CLIENT_NAME_HEADER = 'apollographql-client-name';
export const CLIENT_VERSION_HEADER = 'apollographql-client-version';

/** The client name and version Apollo clients send on every HTTP request (and on the WebSocket upgrade). */
export function clientIdentityOf(headers: Pick<Headers, 'get'>): ClientIdentity {
  return { name: headers.get(CLIENT_NAME_HEADER), version: headers.get(CLIENT_VERSION_HEADER) };
}
