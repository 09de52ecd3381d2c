import { join } from 'node:path';
import { eq, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Bus } from '../../bus/index.js';
import type { UserResource } from '../../contracts/index.js';
import { migrate, type Database } from '../../db/index.js';
import { projectRoot } from '../../util/projectRoot.js';
import { createServiceApp, parseBody, parseIds, reject } from '../http/createServiceApp.js';
import { users, type UserRow } from './usersTables.js';


const toUser = (row: UserRow): UserResource => ({
  id: row.id,
  name: row.name,
  email: row.email,
  avatarUrl: row.avatarUrl,
  version: row.version,
  updatedAt: row.updatedAt.toISOString(),
});

const idSchema = z.string().min(1).max(255);
const ensureBody = z.object({ id: idSchema, name: z.string().trim().min(1).max(200).optional(), email: z.string().email().max(320).optional() });
const patchBody = z.object({
  expectedVersion: z.number().int().min(1),
  name: z.string().trim().min(1, 'must not be empty').max(200).optional(),
  email: z.string().email('expected an email address').max(320).nullable().optional(),
  avatarUrl: z.string().url('expected an http(s) URL').max(2000).nullable().optional(),
});

const fields = [
  ['name', 'nameVersion'],
  ['email', 'emailVersion'],
  ['avatarUrl', 'avatarUrlVersion'],
] as const;

/**
 * The users service. Its key is the identity provider's `sub`. Routes:
 * - `GET /users?ids=a,b` batch;
 * - `POST /users/ensure` `{ id, name?, email? }`: the profile, created on first sight;
 * - `PATCH /users/:id` `{ expectedVersion, name?, email?, avatarUrl? }`: field-level merge,
 *   409 `VERSION_CONFLICT` with the current profile when a given field changed after `expectedVersion`.
 */
export function createUsersService({ database, bus }: { database: Database; bus: Bus }) {
  const { db } = database;
  const app = createServiceApp('users');

  app.get<{ Querystring: { ids?: string } }>('/users', async (request, reply) => {
    request.statLabel = 'GET /users?ids';
    const ids = parseIds(request.query.ids ?? '');
    if (typeof ids === 'string') return reject(reply, 400, { code: 'INVALID_INPUT', message: ids });
    const rows = await db.select().from(users).where(inArray(users.id, ids));
    return { items: rows.map(toUser) };
  });

  app.post('/users/ensure', async (request, reply) => {
    const body = parseBody(ensureBody, request.body, reply);
    if (!body) return reply;
    const inserted = await db
      .insert(users)
      .values({ id: body.id, name: body.name ?? body.id, email: body.email ?? null })
      .onConflictDoNothing()
      .returning();
    if (inserted[0]) {
      await bus.publish({ topic: 'users', userId: body.id });
      return reply.code(201).send({ user: toUser(inserted[0]) });
    }
    const [row] = await db.select().from(users).where(eq(users.id, body.id));
    return { user: toUser(row!) };
  });

  app.patch<{ Params: { id: string } }>('/users/:id', async (request, reply) => {
    const body = parseBody(patchBody, request.body, reply);
    if (!body) return reply;
    const outcome = await db.transaction(async (tx) => {
      const [row] = await tx.select().from(users).where(eq(users.id, request.params.id)).for('update');
      if (!row) return { status: 404 as const };
      const changed = fields.filter(([f]) => body[f] !== undefined && body[f] !== row[f]);
      const conflicts = changed.filter(([, v]) => row[v] > body.expectedVersion).map(([f]) => f);
      if (conflicts.length) return { status: 409 as const, conflicts, row };
      if (changed.length === 0) return { status: 200 as const, row };
      const version = row.version + 1;
      const set: Partial<UserRow> = { version };
      for (const [f, v] of changed) Object.assign(set, { [f]: body[f], [v]: version });
      const [updated] = await tx.update(users).set({ ...set, updatedAt: sql`now()` }).where(eq(users.id, row.id)).returning();
      return { status: 200 as const, row: updated! };
    });
    if (outcome.status === 404) return reject(reply, 404, { code: 'NOT_FOUND', message: `No user ${JSON.stringify(request.params.id)}` });
    if (outcome.status === 409) {
      return reply.code(409).send({
        code: 'VERSION_CONFLICT',
        message: `${outcome.conflicts.join(', ')} changed since version ${body.expectedVersion}`,
        fields: outcome.conflicts,
        user: toUser(outcome.row),
      });
    }
    await bus.publish({ topic: 'users', userId: outcome.row.id });
    return { user: toUser(outcome.row) };
  });

  return {
    name: 'users' as const,
    app,
    migrate: () => migrate(database, { schema: 'users', folder: join(projectRoot(), 'src/services/users/migrations') }),
  };
}
