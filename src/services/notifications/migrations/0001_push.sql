-- Where each change-feed consumer stands: the sending side's only record of progress.
CREATE TABLE IF NOT EXISTS "notifications"."feed_positions" (
  "feed" text PRIMARY KEY,
  "position" text NOT NULL,
  "updated_at" timestamp(3) with time zone NOT NULL DEFAULT now()
);
--> statement-breakpoint
-- One row per push to send: written in the same transaction that advances the feed position, so a
-- change is turned into pushes exactly once; sent, then marked. `push_id` is derived from
-- (device, change), so a retry after a crash sends the same id (APNs apns-id, FCM data.pushId).
CREATE TABLE IF NOT EXISTS "notifications"."push_outbox" (
  "push_id" uuid PRIMARY KEY,
  "user_id" text NOT NULL,
  "installation_id" text NOT NULL,
  "kind" text NOT NULL CHECK ("kind" IN ('alert', 'poke')),
  "order_number" text,
  "created_at" timestamp(3) with time zone NOT NULL DEFAULT now(),
  "due_at" timestamp(3) with time zone NOT NULL DEFAULT now(),
  "leased_until" timestamp(3) with time zone,
  "attempts" integer NOT NULL DEFAULT 0,
  "sent_at" timestamp(3) with time zone,
  "failed_reason" text
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "push_outbox_due_idx" ON "notifications"."push_outbox" ("due_at") WHERE "sent_at" IS NULL AND "failed_reason" IS NULL;
--> statement-breakpoint
-- A burst of one user's changes is one poke per device: the poke waiting to go absorbs the rest.
CREATE UNIQUE INDEX IF NOT EXISTS "push_outbox_pending_poke_idx" ON "notifications"."push_outbox" ("user_id", "installation_id") WHERE "kind" = 'poke' AND "sent_at" IS NULL AND "failed_reason" IS NULL AND "leased_until" IS NULL;
