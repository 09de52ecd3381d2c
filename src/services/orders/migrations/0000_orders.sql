CREATE SEQUENCE IF NOT EXISTS "orders"."order_number_seq" START WITH 1000001;
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "orders"."orders" (
  "number" text PRIMARY KEY,
  "user_id" text NOT NULL,
  "status" text NOT NULL CHECK ("status" IN ('PENDING', 'CONFIRMED', 'SHIPPED', 'DELIVERED', 'CANCELLED')),
  "currency" text NOT NULL,
  "total_cents" integer NOT NULL,
  "created_at" timestamp(3) with time zone NOT NULL DEFAULT now(),
  "updated_at" timestamp(3) with time zone NOT NULL DEFAULT now()
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "orders_user_created_number_idx" ON "orders"."orders" ("user_id", "created_at", "number");
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "orders"."order_lines" (
  "order_number" text NOT NULL REFERENCES "orders"."orders" ("number") ON DELETE CASCADE,
  "line_no" integer NOT NULL,
  "sku" text NOT NULL,
  "quantity" integer NOT NULL CHECK ("quantity" > 0),
  "unit_price_cents" integer NOT NULL CHECK ("unit_price_cents" >= 0),
  PRIMARY KEY ("order_number", "line_no")
);
