/**
 * POST /api/webhooks/google: push-channel notifications (Calendar events.watch, Drive
 * changes.watch) and, for requests without channel headers, the products' own notifications
 * (Gmail's Pub/Sub pushes: gmail/webhooks.ts).
 *
 * Channel notifications have no body and no HMAC: the channel id must be one the engine opened and
 * not stopped, the token's sha256 must match the one stored for it, and the resource id must be
 * the channel's. A `sync` message only confirms the channel; any other state asks for an
 * incremental pull. Nothing else happens in the request.
 *
 * Replays: Google numbers each channel's messages (X-Goog-Message-Number: increasing, not
 * sequential, possibly out of order, the same number on a retry). A number the channel has
 * already had is acknowledged (200, so Google does not retry) and does nothing (`duplicate`); the
 * numbers are remembered as event ids (`channel:<id>:<number>`) for longer than a channel lives
 * (rememberSeconds), and a notification for a channel past its expiry is refused, so a replay
 * older than the memory cannot come through either.
 */
import { safeEqual, sha256Hex } from '../../core/secure';
import type { WebhookHandler, WebhookVerdict } from '../types';
import { GOOGLE_SYSTEM, googleConfig } from './config';
import { GMAIL_PUSH_MAX_AGE_MS } from './gmail/webhooks';
import type { GoogleProductModule } from './session';

const no = (status: number, outcome: string, error: string): WebhookVerdict => ({ status, outcome, body: { error } });

/** Clock skew allowed past a channel's expiry before its notifications are refused. */
const EXPIRY_GRACE_MS = 3_600_000;

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
    const number = h('x-goog-message-number');
    if (!channelId || !token || !resourceId || !state || !number) {
      return no(400, 'malformed', 'expected X-Goog-Channel-ID, X-Goog-Channel-Token, X-Goog-Resource-ID, X-Goog-Resource-State and X-Goog-Message-Number');
    }
    if (!/^\d{1,20}$/.test(number)) return no(400, 'malformed', 'X-Goog-Message-Number must be a decimal number');
    const channel = await ctx.channel(channelId);
    if (!channel || channel.stopped || channel.system !== GOOGLE_SYSTEM) return no(404, 'unknown_channel', 'no such channel');
    if (!safeEqual(sha256Hex(token), channel.tokenHash) || !safeEqual(resourceId, channel.resourceId)) {
      return no(401, 'bad_signature', 'channel token or resource id does not match');
    }
    // Google sends nothing once a channel expires: a later notification is a replay (its numbers may be forgotten).
    if (Date.parse(channel.expiresAt) + EXPIRY_GRACE_MS < Date.now()) return no(404, 'stale', 'the channel has expired');
    const fresh = await ctx.fresh([`channel:${channelId}:${BigInt(number)}`]);
    if (!fresh.size) return { status: 200, outcome: 'duplicate', body: { accepted: 0, duplicate: true } };
    if (state === 'sync') return { status: 200, outcome: 'accepted', body: { accepted: 0, state } };
    return {
      status: 200,
      outcome: 'accepted',
      body: { accepted: 1, state },
      work: [{ connection: channel.connection, entityType: channel.entityType, incremental: true }],
    };
  },
  // Channel numbers for as long as a channel can live, Gmail message ids for as long as Pub/Sub redelivers; a day more.
  rememberSeconds: (cfg) => Math.max(googleConfig(cfg).channelTtlSeconds, GMAIL_PUSH_MAX_AGE_MS / 1000) + 86_400,
});
