-- Idempotent writes: a retried POST /orders (or cancel) carrying the same key answers the first outcome.
ALTER TABLE "orders"."orders" ADD COLUMN IF NOT EXISTS "idempotency_key" text;
--> statement-breakpoint
ALTER TABLE "orders"."orders" ADD COLUMN IF NOT EXISTS "cancel_idempotency_key" text;
--> statement-breakpoint
CREATE UNIQUE INDEX IF NOT EXISTS "orders_user_idempotency_key_idx" ON "orders"."orders" ("user_id", "idempotency_key");
