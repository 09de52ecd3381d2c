-- One row per status change of an order (the fulfilment side's or a cancellation), whoever writes it:
-- the row feed keeps only an order's latest version, so two changes read together would be one.
-- Stamped like the feed (same transaction id and sequence), so GET /orders/feed returns a page's
-- status changes with it, in feed order. Kept as long as tombstones (the hourly purge).
CREATE TABLE IF NOT EXISTS "orders"."order_status_log" (
  "id" bigserial PRIMARY KEY,
  "number" text NOT NULL,
  "user_id" text NOT NULL,
  "status" text NOT NULL,
  "changed_at" timestamp(3) with time zone NOT NULL DEFAULT now(),
  "change_xid" xid8 NOT NULL DEFAULT pg_current_xact_id(),
  "change_seq" bigint NOT NULL DEFAULT nextval('orders.order_change_seq')
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "order_status_log_change_idx" ON "orders"."order_status_log" ("change_xid", "change_seq");
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "order_status_log_changed_at_idx" ON "orders"."order_status_log" ("changed_at");
--> statement-breakpoint
CREATE OR REPLACE FUNCTION "orders"."orders_log_status"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "orders"."order_status_log" ("number", "user_id", "status") VALUES (NEW.number, NEW.user_id, NEW.status);
  RETURN NULL;
END
$$;
--> statement-breakpoint
DROP TRIGGER IF EXISTS "orders_log_status" ON "orders"."orders";
--> statement-breakpoint
CREATE TRIGGER "orders_log_status" AFTER UPDATE OF "status" ON "orders"."orders"
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION "orders"."orders_log_status"();
