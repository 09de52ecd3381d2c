-- Every user's changes in order (GET /orders/feed, the push sender's consumer).
CREATE INDEX IF NOT EXISTS "orders_change_idx" ON "orders"."orders" ("change_xid", "change_seq");
