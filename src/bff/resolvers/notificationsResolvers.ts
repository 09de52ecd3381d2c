import { deviceLimits, type BatchResponse, type DeviceResource } from '../../contracts/index.js';
import { clientError, ErrorCode } from '../errors/index.js';
import type { Resolvers, UserError } from '../generated/resolvers.js';
import { requireViewer, userError } from './shared.js';

const PRINTABLE = /^[\x21-\x7e]+$/;

/** The input errors of `registerDevice`, each with a sentence fit to show. */
function registerErrors(input: { installationId: string; token: string; appVersion?: string | null; locale?: string | null }): UserError[] {
  const errors: UserError[] = [];
  if (input.installationId.length < 1 || input.installationId.length > deviceLimits.installationId) {
    errors.push(userError('INVALID_INPUT', `The installation id must be 1 to ${deviceLimits.installationId} characters.`, ['installationId']));
  }
  if (input.token.length < 1 || input.token.length > deviceLimits.token || !PRINTABLE.test(input.token)) {
    errors.push(userError('INVALID_INPUT', `The push token must be 1 to ${deviceLimits.token} printable characters, as the platform issued it.`, ['token']));
  }
  if (input.appVersion != null && input.appVersion.length > deviceLimits.appVersion) {
    errors.push(userError('INVALID_INPUT', `The app version must be at most ${deviceLimits.appVersion} characters.`, ['appVersion']));
  }
  if (input.locale != null && input.locale.length > deviceLimits.locale) {
    errors.push(userError('INVALID_INPUT', `The locale must be a language tag of at most ${deviceLimits.locale} characters.`, ['locale']));
  }
  return errors;
}

export const notificationsResolvers: Resolvers = {
  Mutation: {
    registerDevice: async (_parent, { input }, ctx) => {
      const viewer = requireViewer(ctx);
      const errors = registerErrors(input);
      if (errors.length) return { device: null, userErrors: errors };
      const { status, body } = await ctx.downstream.call<{ device: DeviceResource; field?: string; message?: string }>('notifications', {
        method: 'POST',
        path: '/devices/register',
        route: 'POST /devices/register',
        body: {
          userId: viewer.sub,
          installationId: input.installationId,
          platform: input.platform,
          token: input.token,
          appVersion: input.appVersion ?? null,
          locale: input.locale ?? null,
          notifyOrderUpdates: input.notifyOrderUpdates ?? true,
        },
        expect: [200, 201, 400],
      });
      if (status === 400) return { device: null, userErrors: [userError('INVALID_INPUT', body.message ?? 'The device was not accepted.', body.field ? [body.field] : null)] };
      return { device: body.device, userErrors: [] };
    },
    unregisterDevice: async (_parent, { input }, ctx) => {
      const viewer = requireViewer(ctx);
      if (input.installationId.length < 1 || input.installationId.length > deviceLimits.installationId) {
        return { installationId: null, userErrors: [userError('INVALID_INPUT', `The installation id must be 1 to ${deviceLimits.installationId} characters.`, ['installationId'])] };
      }
      await ctx.downstream.call('notifications', {
        method: 'POST',
        path: '/devices/unregister',
        route: 'POST /devices/unregister',
        body: { userId: viewer.sub, installationId: input.installationId },
      });
      return { installationId: input.installationId, userErrors: [] };
    },
  },
  User: {
    devices: async (user, _args, ctx) => {
      if (ctx.viewer?.sub !== user.id) throw clientError(ErrorCode.Forbidden, "Only the viewer's own devices can be listed.");
      const { body } = await ctx.downstream.call<BatchResponse<DeviceResource>>('notifications', { path: `/devices?userId=${encodeURIComponent(user.id)}`, route: 'GET /devices' });
      return body.items;
    },
  },
};
