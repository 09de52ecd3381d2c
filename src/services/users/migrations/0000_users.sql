CREATE TABLE IF NOT EXISTS "users"."users" (
  "id" text PRIMARY KEY,
  "name" text NOT NULL,
  "email" text,
  "avatar_url" text,
  "version" integer NOT NULL DEFAULT 1,
  "name_version" integer NOT NULL DEFAULT 1,
  "email_version" integer NOT NULL DEFAULT 1,
  "avatar_url_version" integer NOT NULL DEFAULT 1,
  "created_at" timestamp(3) with time zone NOT NULL DEFAULT now(),
  "updated_at" timestamp(3) with time zone NOT NULL DEFAULT now()
);
