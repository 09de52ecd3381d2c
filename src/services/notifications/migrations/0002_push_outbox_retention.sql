-- The retention job (purgeFinishedPushes.ts) deletes finished rows by age: sent, or given up.
CREATE INDEX IF NOT EXISTS "push_outbox_finished_idx" ON "notifications"."push_outbox" ("created_at") WHERE "sent_at" IS NOT NULL OR "failed_reason" IS NOT NULL;
