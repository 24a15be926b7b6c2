/**
 * POST /api/webhooks/google: push-channel notifications (Calendar events.watch, Drive
 * changes.watch) and, for requests without channel headers, the products' own notifications
 * (Gmail's Pub/Sub pushes: gmail/webhooks.ts).
 *
 * Channel notifications have no body and no HMAC: the channel id must be one the engine opened and
 * not stopped, the token's sha256 must match the one stored for it, and the resource id must be
 * the channel's. A `sync` message only confirms the channel; any other state asks for an
 * incremental pull. Nothing else happens in the request.
 */
import { safeEqual, sha256Hex } from '../../core/secure';
import type { WebhookHandler, WebhookVerdict } from '../types';
import { GOOGLE_SYSTEM } from './config';
import type { GoogleProductModule } from './session';

const no = (status: number, outcome: string, error: string): WebhookVerdict => ({ status, outcome, body: { error } });

export const googleWebhooks = (products: readonly GoogleProductModule[]): WebhookHandler => ({
  path: 'google',
  async handle(req, ctx, cfg) {
    const h = (name: string): string | undefined => {
      const v = req.headers[name] ?? req.headers[name.toLowerCase()];
      const s = Array.isArray(v) ? v[0] : v;
      return typeof s === 'string' && s.trim() !== '' ? s.trim() : undefined;
    };
    const channelId = h('x-goog-channel-id');
    if (!channelId) {
      const own = products.find((p) => p.webhook?.accepts(req));
      if (own) return own.webhook!.handle(req, ctx, cfg);
    }
    const token = h('x-goog-channel-token');
    const resourceId = h('x-goog-resource-id');
    const state = h('x-goog-resource-state');
    if (!channelId || !token || !resourceId || !state) {
      return no(400, 'malformed', 'expected X-Goog-Channel-ID, X-Goog-Channel-Token, X-Goog-Resource-ID and X-Goog-Resource-State');
    }
    const channel = await ctx.channel(channelId);
    if (!channel || channel.stopped || channel.system !== GOOGLE_SYSTEM) return no(404, 'unknown_channel', 'no such channel');
    if (!safeEqual(sha256Hex(token), channel.tokenHash) || !safeEqual(resourceId, channel.resourceId)) {
      return no(401, 'bad_signature', 'channel token or resource id does not match');
    }
    if (state === 'sync') return { status: 200, outcome: 'accepted', body: { accepted: 0, state } };
    return {
      status: 200,
      outcome: 'accepted',
      body: { accepted: 1, state },
      work: [{ connection: channel.connection, entityType: channel.entityType, incremental: true }],
    };
  },
});
