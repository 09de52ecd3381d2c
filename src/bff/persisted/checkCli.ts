import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { createSchema, readTypeDefs } from '../createSchema.js';
import { loadPersistedOperations, ManifestError } from './loadPersistedOperations.js';

// `npm run persisted:check [-- --schema <dir>]`: what the server does at start with the manifests,
// without starting: every manifest in PERSISTED_QUERIES_DIR must be named for its app release and
// every operation must validate against the schema (or against the SDL in `--schema`, to see what
// a proposed change would break before making it). A failure names every manifest and operation.
let schemaDir: string | undefined;
try {
  ({
    values: { schema: schemaDir },
  } = parseArgs({ options: { schema: { type: 'string' } } }));
} catch (error) {
  process.stderr.write(`${(error as Error).message}\nusage: npm run persisted:check [-- --schema <dir of *.graphql>]\n`);
  process.exit(2);
}
const dir = resolve(process.env.PERSISTED_QUERIES_DIR || 'persisted-queries');
const schema = schemaDir ? makeExecutableSchema({ typeDefs: readTypeDefs(resolve(schemaDir)) }) : createSchema();
try {
  const operations = loadPersistedOperations(schema, dir);
  process.stdout.write(`${operations.byId.size} persisted operations in ${operations.files.length} manifests of ${dir} validate against the schema.\n`);
} catch (error) {
  if (!(error instanceof ManifestError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
