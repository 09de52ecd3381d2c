-- The per-user orders change feed (see src/services/changes/readChanges.ts). Every row version
-- is stamped by trigger with the writing transaction's id and a sequence value, whoever writes
-- it; an order that is deleted, or that moves to another user, leaves a tombstone for the user
-- who loses it.
CREATE SEQUENCE IF NOT EXISTS "orders"."order_change_seq";
--> statement-breakpoint
-- The volatile defaults also stamp the rows that exist already (the table is rewritten once).
ALTER TABLE "orders"."orders"
  ADD COLUMN IF NOT EXISTS "change_xid" xid8 NOT NULL DEFAULT pg_current_xact_id(),
  ADD COLUMN IF NOT EXISTS "change_seq" bigint NOT NULL DEFAULT nextval('orders.order_change_seq');
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "orders_user_change_idx" ON "orders"."orders" ("user_id", "change_xid", "change_seq");
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "orders"."order_tombstones" (
  "user_id" text NOT NULL,
  "number" text NOT NULL,
  "change_xid" xid8 NOT NULL DEFAULT pg_current_xact_id(),
  "change_seq" bigint NOT NULL DEFAULT nextval('orders.order_change_seq'),
  "deleted_at" timestamp(3) with time zone NOT NULL DEFAULT now(),
  PRIMARY KEY ("user_id", "number")
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "order_tombstones_user_change_idx" ON "orders"."order_tombstones" ("user_id", "change_xid", "change_seq");
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "order_tombstones_deleted_at_idx" ON "orders"."order_tombstones" ("deleted_at");
--> statement-breakpoint
-- Per feed, the latest position of a purged tombstone: a client behind it may have missed a deletion.
CREATE TABLE IF NOT EXISTS "orders"."change_feed_horizons" (
  "feed" text PRIMARY KEY,
  "horizon_xid" xid8 NOT NULL,
  "horizon_seq" bigint NOT NULL,
  "purged_at" timestamp(3) with time zone NOT NULL DEFAULT now()
);
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "orders"."orders_stamp_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.change_xid := pg_current_xact_id();
  NEW.change_seq := nextval('orders.order_change_seq');
  RETURN NEW;
END
$$;
--> statement-breakpoint
-- AFTER, not BEFORE: a write that waited for a concurrent delete of the same order runs this
-- once that delete has committed, and (READ COMMITTED) sees and removes its tombstone.
CREATE OR REPLACE FUNCTION "orders"."orders_clear_tombstone"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "orders"."order_tombstones" WHERE "user_id" = NEW.user_id AND "number" = NEW.number;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "orders"."orders_leave_tombstone"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "orders"."order_tombstones" ("user_id", "number") VALUES (OLD.user_id, OLD.number)
  ON CONFLICT ("user_id", "number") DO UPDATE SET
    "change_xid" = pg_current_xact_id(),
    "change_seq" = nextval('orders.order_change_seq'),
    "deleted_at" = now();
  RETURN NULL;
END
$$;
--> statement-breakpoint
DROP TRIGGER IF EXISTS "orders_stamp_change" ON "orders"."orders";
--> statement-breakpoint
CREATE TRIGGER "orders_stamp_change" BEFORE INSERT OR UPDATE ON "orders"."orders"
  FOR EACH ROW EXECUTE FUNCTION "orders"."orders_stamp_change"();
--> statement-breakpoint
DROP TRIGGER IF EXISTS "orders_clear_tombstone" ON "orders"."orders";
--> statement-breakpoint
CREATE TRIGGER "orders_clear_tombstone" AFTER INSERT OR UPDATE OF "user_id" ON "orders"."orders"
  FOR EACH ROW EXECUTE FUNCTION "orders"."orders_clear_tombstone"();
--> statement-breakpoint
DROP TRIGGER IF EXISTS "orders_leave_tombstone" ON "orders"."orders";
--> statement-breakpoint
CREATE TRIGGER "orders_leave_tombstone" AFTER DELETE ON "orders"."orders"
  FOR EACH ROW EXECUTE FUNCTION "orders"."orders_leave_tombstone"();
--> statement-breakpoint
DROP TRIGGER IF EXISTS "orders_leave_tombstone_on_move" ON "orders"."orders";
--> statement-breakpoint
CREATE TRIGGER "orders_leave_tombstone_on_move" AFTER UPDATE OF "user_id" ON "orders"."orders"
  FOR EACH ROW WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id) EXECUTE FUNCTION "orders"."orders_leave_tombstone"();
