CREATE TABLE IF NOT EXISTS "catalog"."products" (
  "sku" text PRIMARY KEY,
  "name" text NOT NULL,
  "description" text NOT NULL DEFAULT '',
  "price_cents" integer NOT NULL CHECK ("price_cents" >= 0),
  "currency" text NOT NULL,
  "image_url" text,
  "created_at" timestamp(3) with time zone NOT NULL DEFAULT now(),
  "updated_at" timestamp(3) with time zone NOT NULL DEFAULT now()
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "products_name_sku_idx" ON "catalog"."products" ("name", "sku");
