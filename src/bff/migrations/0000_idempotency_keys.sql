-- The BFF's own tables live in the "bff" schema, migrated at BFF start (createBff's start()).
CREATE TABLE IF NOT EXISTS "bff"."idempotency_keys" (
  "user_id" text NOT NULL,
  "field" text NOT NULL,
  "key" text NOT NULL,
  "request_id" uuid NOT NULL,
  "fingerprint" text NOT NULL,
  "state" text NOT NULL CHECK ("state" IN ('running', 'done')),
  "owner" uuid,
  "locked_until" timestamp(3) with time zone NOT NULL,
  "result" jsonb,
  "created_at" timestamp(3) with time zone NOT NULL DEFAULT now(),
  "expires_at" timestamp(3) with time zone NOT NULL,
  PRIMARY KEY ("user_id", "field", "key")
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "idempotency_keys_expires_at_idx" ON "bff"."idempotency_keys" ("expires_at");
