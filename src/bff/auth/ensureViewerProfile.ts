import type { UserResource } from '../../contracts/index.js';
import type { Context } from '../context.js';
import { tagged, type UserModel } from '../models.js';
import { requireViewer } from '../resolvers/shared.js';

/**
 * The viewer's profile, created by the users service on a `sub`'s first sight (name and email from
 * the token's claims), and primed in the request's users loader. Callers memoize it per request.
 */
export async function ensureViewerProfile(context: Context): Promise<UserModel> {
  const claims = requireViewer(context);
  const { body } = await context.downstream.call<{ user: UserResource }>('users', {
    method: 'POST',
    path: '/users/ensure',
    route: 'POST /users/ensure',
    body: { id: claims.sub, ...(claims.name ? { name: claims.name } : {}), ...(claims.email ? { email: claims.email } : {}) },
    expect: [200, 201],
  });
  const user: UserModel = tagged(body.user, 'User');
  context.loaders.users.prime(user.id, user);
  return user;
}
