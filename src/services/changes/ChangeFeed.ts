/**
 * Where a change feed's rows live. Both tables carry `change_xid xid8` and `change_seq bigint`,
 * set by the service's triggers on every insert, update and delete (see its migrations), and the
 * schema has a `change_feed_horizons` table recording what the purge job removed.
 */
export interface ChangeFeed {
  /** The feed's name, its row in `<schema>.change_feed_horizons`, e.g. `products`. */
  name: string;
  /** The PostgreSQL schema of both tables, e.g. `catalog`. */
  schema: string;
  /** The live rows, e.g. `products`. */
  table: string;
  /** The tombstones of deleted rows, e.g. `product_tombstones`. */
  tombstones: string;
  /** The key column in both tables, e.g. `sku`. */
  key: string;
  /** The column naming whose feed a row belongs to, in both tables, when the feed is per owner (orders: `user_id`). */
  owner?: string;
  /**
   * A feed read across owners (no `owner`) may still name each deletion's owner from this column of
   * the tombstones (the all-users orders feed: `user_id`, so the push consumer knows whose devices
   * to poke). @default `owner`
   */
  tombstoneOwner?: string;
}
