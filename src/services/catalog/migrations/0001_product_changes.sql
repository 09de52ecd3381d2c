-- The products change feed (see src/services/changes/readChanges.ts). Every row version is
-- stamped by trigger with the writing transaction's id and a sequence value, whoever writes it
-- (the service, the seed, psql); a delete leaves a tombstone stamped the same way.
CREATE SEQUENCE IF NOT EXISTS "catalog"."product_change_seq";
--> statement-breakpoint
-- The volatile defaults also stamp the rows that exist already (the table is rewritten once).
ALTER TABLE "catalog"."products"
  ADD COLUMN IF NOT EXISTS "change_xid" xid8 NOT NULL DEFAULT pg_current_xact_id(),
  ADD COLUMN IF NOT EXISTS "change_seq" bigint NOT NULL DEFAULT nextval('catalog.product_change_seq');
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "products_change_idx" ON "catalog"."products" ("change_xid", "change_seq");
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "catalog"."product_tombstones" (
  "sku" text PRIMARY KEY,
  "change_xid" xid8 NOT NULL DEFAULT pg_current_xact_id(),
  "change_seq" bigint NOT NULL DEFAULT nextval('catalog.product_change_seq'),
  "deleted_at" timestamp(3) with time zone NOT NULL DEFAULT now()
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "product_tombstones_change_idx" ON "catalog"."product_tombstones" ("change_xid", "change_seq");
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "product_tombstones_deleted_at_idx" ON "catalog"."product_tombstones" ("deleted_at");
--> statement-breakpoint
-- Per feed, the latest position of a purged tombstone: a client behind it may have missed a deletion.
CREATE TABLE IF NOT EXISTS "catalog"."change_feed_horizons" (
  "feed" text PRIMARY KEY,
  "horizon_xid" xid8 NOT NULL,
  "horizon_seq" bigint NOT NULL,
  "purged_at" timestamp(3) with time zone NOT NULL DEFAULT now()
);
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "catalog"."products_stamp_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.change_xid := pg_current_xact_id();
  NEW.change_seq := nextval('catalog.product_change_seq');
  RETURN NEW;
END
$$;
--> statement-breakpoint
-- AFTER, not BEFORE: an insert that waited for a concurrent delete of the same SKU runs this
-- once that delete has committed, and (READ COMMITTED) sees and removes its tombstone.
CREATE OR REPLACE FUNCTION "catalog"."products_clear_tombstone"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "catalog"."product_tombstones" WHERE "sku" = NEW.sku;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "catalog"."products_leave_tombstone"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "catalog"."product_tombstones" ("sku") VALUES (OLD.sku)
  ON CONFLICT ("sku") DO UPDATE SET
    "change_xid" = pg_current_xact_id(),
    "change_seq" = nextval('catalog.product_change_seq'),
    "deleted_at" = now();
  RETURN NULL;
END
$$;
--> statement-breakpoint
DROP TRIGGER IF EXISTS "products_stamp_change" ON "catalog"."products";
--> statement-breakpoint
CREATE TRIGGER "products_stamp_change" BEFORE INSERT OR UPDATE ON "catalog"."products"
  FOR EACH ROW EXECUTE FUNCTION "catalog"."products_stamp_change"();
--> statement-breakpoint
DROP TRIGGER IF EXISTS "products_clear_tombstone" ON "catalog"."products";
--> statement-breakpoint
CREATE TRIGGER "products_clear_tombstone" AFTER INSERT ON "catalog"."products"
  FOR EACH ROW EXECUTE FUNCTION "catalog"."products_clear_tombstone"();
--> statement-breakpoint
DROP TRIGGER IF EXISTS "products_leave_tombstone" ON "catalog"."products";
--> statement-breakpoint
CREATE TRIGGER "products_leave_tombstone" AFTER DELETE ON "catalog"."products"
  FOR EACH ROW EXECUTE FUNCTION "catalog"."products_leave_tombstone"();
