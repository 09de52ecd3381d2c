// The errors a client can see: codes, and helpers that build them.
export { ErrorCode } from './ErrorCode.js';
export { clientError, maskAndLog, maskError } from './clientError.js';
export { clientResult, clientStream, unexpectedError, withCode } from './clientErrors.js';
