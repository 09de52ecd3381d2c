import { customType } from 'drizzle-orm/pg-core';

/**
 * A PostgreSQL `xid8` column (a 64-bit transaction id, which never wraps around), read as its
 * decimal text: what the change feeds stamp rows with (`pg_current_xact_id()`).
 */
export const xid8 = customType<{ data: string; driverData: string }>({
  dataType: () => 'xid8',
});
