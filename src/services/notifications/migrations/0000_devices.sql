CREATE TABLE IF NOT EXISTS "notifications"."devices" (
  "user_id" text NOT NULL,
  "installation_id" text NOT NULL,
  "platform" text NOT NULL CHECK ("platform" IN ('IOS', 'ANDROID')),
  "token" text NOT NULL,
  "app_version" text,
  "locale" text,
  "notify_order_updates" boolean NOT NULL DEFAULT true,
  "created_at" timestamp(3) with time zone NOT NULL DEFAULT now(),
  "updated_at" timestamp(3) with time zone NOT NULL DEFAULT now(),
  PRIMARY KEY ("user_id", "installation_id")
);
--> statement-breakpoint
CREATE UNIQUE INDEX IF NOT EXISTS "devices_platform_token_idx" ON "notifications"."devices" ("platform", "token");
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "devices_user_idx" ON "notifications"."devices" ("user_id");
