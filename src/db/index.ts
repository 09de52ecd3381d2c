// Database access: one drizzle handle over embedded PGlite or a PostgreSQL server, and migrations.
export { createDatabase, isNewEmbeddedDatabase, type Database, type Db } from './createDatabase.js';
export { migrate } from './migrate.js';
export { selectRows } from './selectRows.js';
export { xid8 } from './xid8.js';
