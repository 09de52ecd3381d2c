import { parseArgs } from 'node:util';
import { signDevToken } from './signDevToken.js';

// `npm run token [-- --sub <id>] [--expires-in 12h]`: prints a development bearer token.
const { values } = parseArgs({
  options: { sub: { type: 'string', default: 'demo' }, 'expires-in': { type: 'string', default: '12h' }, name: { type: 'string' }, email: { type: 'string' } },
});
const token = await signDevToken({ sub: values.sub!, expiresIn: values['expires-in']!, ...(values.name ? { name: values.name } : {}), ...(values.email ? { email: values.email } : {}) });
process.stdout.write(`${token}\n`);
