import type { UserResource } from '../../contracts/index.js';
import type { Resolvers, UserError } from '../generated/resolvers.js';
import { toGlobalId } from '../ids/globalId.js';
import type { UserModel } from '../models.js';
import { sizedImageUrl, userError } from './shared.js';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export const usersResolvers: Resolvers = {
  Query: {
    viewer: (_parent, _args, ctx) => ctx.viewerProfile(),
  },
  Mutation: {
    updateProfile: async (_parent, { input }, ctx) => {
      const profile = await ctx.viewerProfile();
      const errors: UserError[] = [];
      if (input.name !== undefined && (input.name === null || input.name.trim() === '' || input.name.length > 200)) {
        errors.push(userError('INVALID_INPUT', 'Enter a name of 1 to 200 characters.', ['name']));
      }
      if (input.email != null && (!EMAIL.test(input.email) || input.email.length > 320)) {
        errors.push(userError('INVALID_INPUT', 'Enter a valid email address.', ['email']));
      }
      if (input.avatarUrl != null && !/^https?:\/\/\S+$/.test(input.avatarUrl)) {
        errors.push(userError('INVALID_INPUT', 'The avatar must be an http(s) URL.', ['avatarUrl']));
      }
      if (errors.length) return { user: profile, userErrors: errors };

      const body: Record<string, unknown> = { expectedVersion: input.expectedVersion };
      for (const field of ['name', 'email', 'avatarUrl'] as const) if (input[field] !== undefined) body[field] = input[field];
      const response = await ctx.downstream.call<{ user: UserResource; fields?: string[]; code?: string; field?: string; message?: string }>('users', {
        method: 'PATCH',
        path: `/users/${encodeURIComponent(profile.id)}`,
        route: 'PATCH /users/:id',
        body,
        expect: [200, 400, 409],
      });
      if (response.status === 400) {
        return { user: profile, userErrors: [userError('INVALID_INPUT', response.body.message ?? 'The profile was not accepted.', response.body.field ? [response.body.field] : null)] };
      }
      const user: UserModel = { ...response.body.user, __typename: 'User' };
      ctx.loaders.users.clear(user.id).prime(user.id, user);
      if (response.status === 409) {
        return {
          user,
          userErrors: (response.body.fields ?? []).map((field) =>
            userError('VERSION_CONFLICT', `Your ${field === 'avatarUrl' ? 'avatar' : field} was changed elsewhere; review the current value and try again.`, [field]),
          ),
        };
      }
      return { user, userErrors: [] };
    },
  },
  User: {
    id: (user) => toGlobalId('User', user.id),
    avatarUrl: (user, { size }) => sizedImageUrl(user.avatarUrl, size, 256),
  },
};
