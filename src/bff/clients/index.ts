// App versions: which app releases are served, which must upgrade, which are retiring (design.md §14).
export { createClientVersionPolicy, type ClientVersionPolicy, type ClientVerdict, type ClientIdentity, type SunsetNotice } from './createClientVersionPolicy.js';
export { clientIdentityOf, CLIENT_NAME_HEADER, CLIENT_VERSION_HEADER } from './clientIdentityOf.js';
