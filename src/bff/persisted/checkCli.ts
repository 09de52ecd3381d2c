import { resolve } from 'node:path';
import { createSchema } from '../createSchema.js';
import { loadPersistedOperations, ManifestError } from './loadPersistedOperations.js';

// `npm run persisted:check`: what the server does at start with the manifests, without starting:
// every operation of every manifest in PERSISTED_QUERIES_DIR must validate against the schema.
const dir = resolve(process.env.PERSISTED_QUERIES_DIR || 'persisted-queries');
try {
  const operations = loadPersistedOperations(createSchema(), dir);
  process.stdout.write(`${operations.byId.size} persisted operations in ${operations.files.length} manifests of ${dir} validate against the schema.\n`);
} catch (error) {
  if (!(error instanceof ManifestError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
