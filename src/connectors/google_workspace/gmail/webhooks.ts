/**
 * Gmail's Pub/Sub push deliveries on POST /api/webhooks/google (requests without push-channel
 * headers). Pub/Sub POSTs `{message: {data: base64('{"emailAddress","historyId"}'), messageId,
 * publishTime}, subscription}`; the delivery is verified as Google documents for push
 * subscriptions — the OIDC bearer token (signature against Google's keys, issuer, audience, the
 * subscription's service account, verified email) and/or the secret `token` in the push URL —
 * then a mailbox this installation syncs gets an incremental pull of its threads. Nothing is read
 * from Gmail in the request.
 *
 * Replays: a message id seen before is acknowledged and ignored (`duplicate`: Pub/Sub redelivers
 * at least once, and a captured delivery may be sent again); the ids are remembered for longer
 * than GMAIL_PUSH_MAX_AGE_MS, Pub/Sub's longest retention of an unacknowledged message (7 days),
 * and a push published longer ago than that is acknowledged and ignored (`stale`): Pub/Sub would
 * not deliver it any more, so it is a replay (the next incremental pull reads that mailbox's
 * history anyway).
 */
import { OAuth2Client } from 'google-auth-library';
import { safeEqual } from '../../../core/secure';
import type { WebhookRequest, WebhookVerdict } from '../../types';
import type { Config } from '../../../config';
import type { WebhookContext } from '../../types';
import { bodyBytes, firstByte } from '../../webhook-body';
import { googleConfig } from '../config';
import type { GmailConfig } from './config';
import { EMAIL_TYPE } from './entities';

const no = (status: number, outcome: string, error: string): WebhookVerdict => ({ status, outcome, body: { error } });

/** One verifier per keys URL: it caches Google's keys as their Cache-Control allows. */
const verifiers = new Map<string, OAuth2Client>();
function verifier(certsUrl: string): OAuth2Client {
  let v = verifiers.get(certsUrl);
  if (!v) {
    v = new OAuth2Client({ endpoints: { oauth2FederatedSignonPemCertsUrl: certsUrl } });
    verifiers.set(certsUrl, v);
  }
  return v;
}

const header = (req: WebhookRequest, name: string): string | undefined => {
  const v = req.headers[name] ?? req.headers[name.toLowerCase()];
  const s = Array.isArray(v) ? v[0] : v;
  return typeof s === 'string' && s.trim() !== '' ? s.trim() : undefined;
};

/** Pub/Sub keeps an unacknowledged message at most 7 days (the subscription's retention): older pushes are replays. */
export const GMAIL_PUSH_MAX_AGE_MS = 7 * 86_400_000;

interface Notification {
  messageId: string;
  emailAddress: string;
  historyId: string;
  /** message.publishTime as epoch ms (absent in the envelope: undefined) */
  publishedAt?: number;
}

/** The Pub/Sub envelope and Gmail's notification in it; a reason string when malformed. */
export function parsePush(rawBody: string): Notification | string {
  let env: unknown;
  try {
    env = JSON.parse(rawBody);
  } catch {
    return 'the body is not JSON';
  }
  const msg = (env as { message?: unknown } | null)?.message as Record<string, unknown> | undefined;
  if (!msg || typeof msg !== 'object' || Array.isArray(msg)) return 'expected a Pub/Sub push: {message: {data, messageId}, subscription}';
  const messageId = msg.messageId ?? msg.message_id;
  if (typeof messageId !== 'string' || !/^[\w.:-]{1,128}$/.test(messageId)) return 'message.messageId is missing or invalid';
  if (typeof msg.data !== 'string' || msg.data.length > 4096 || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(msg.data)) return 'message.data is missing or not base64';
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(msg.data, 'base64').toString('utf8'));
  } catch {
    return 'message.data is not base64 JSON';
  }
  const d = data as { emailAddress?: unknown; historyId?: unknown } | null;
  const email = typeof d?.emailAddress === 'string' ? d.emailAddress.trim().toLowerCase() : '';
  const historyId = typeof d?.historyId === 'number' ? String(d.historyId) : typeof d?.historyId === 'string' ? d.historyId : '';
  if (!/^[^@\s]{1,200}@[^@\s]{1,200}$/.test(email)) return 'message.data has no emailAddress';
  if (!/^\d{1,20}$/.test(historyId)) return 'message.data has no historyId';
  const publishTime = msg.publishTime ?? msg.publish_time;
  if (publishTime === undefined) return { messageId, emailAddress: email, historyId };
  const publishedAt = typeof publishTime === 'string' && publishTime.length <= 40 ? Date.parse(publishTime) : NaN;
  if (!Number.isFinite(publishedAt)) return 'message.publishTime is not an RFC 3339 time';
  return { messageId, emailAddress: email, historyId, publishedAt };
}

export const gmailWebhook = {
  /** requests with a JSON body and no push-channel headers (X-Goog-*): Pub/Sub deliveries */
  accepts: (req: WebhookRequest): boolean =>
    firstByte(bodyBytes(req)) === 0x7b && !Object.keys(req.headers).some((k) => k.toLowerCase().startsWith('x-goog-')),

  async handle(req: WebhookRequest, ctx: WebhookContext, cfg: Config): Promise<WebhookVerdict> {
    const g = googleConfig(cfg);
    const gmail = g.products.gmail as GmailConfig | undefined;
    const push = gmail?.push;
    if (!push || (!push.oidc && !push.token)) {
      return no(403, 'not_configured', 'Gmail push deliveries are not accepted: set GMAIL_PUSH_AUDIENCE and GMAIL_PUSH_SERVICE_ACCOUNT, or GMAIL_PUSH_TOKEN');
    }
    if (push.token) {
      let given: string | null = null;
      try {
        given = new URL(req.publicUrl).searchParams.get('token');
      } catch {
        given = null;
      }
      if (!given || !safeEqual(given, push.token)) return no(401, 'bad_signature', 'the push URL token is missing or does not match');
    }
    if (push.oidc) {
      const auth = header(req, 'authorization');
      const bearer = auth && /^Bearer\s+([\w-]+\.[\w-]+\.[\w-]+)$/i.exec(auth)?.[1];
      if (!bearer) return no(401, 'bad_signature', 'expected Authorization: Bearer <OIDC token of the push subscription>');
      try {
        const ticket = await verifier(push.oidc.certsUrl).verifyIdToken({ idToken: bearer, audience: push.oidc.audience });
        const claims = ticket.getPayload();
        if (!claims || claims.email?.toLowerCase() !== push.oidc.serviceAccount || claims.email_verified !== true) {
          return no(401, 'bad_signature', "the OIDC token is not the push subscription's service account");
        }
      } catch {
        return no(401, 'bad_signature', 'the OIDC token does not verify (signature, issuer, audience or expiry)');
      }
    }
    // Verified: only now is the body's encoding and shape looked at.
    if (req.rawBody === null) return no(400, 'malformed', 'the body is not valid UTF-8');
    const n = parsePush(req.rawBody);
    if (typeof n === 'string') return no(400, 'malformed', n);
    if (n.publishedAt === undefined) return no(400, 'malformed', 'message.publishTime is missing');
    if (Date.now() - n.publishedAt > GMAIL_PUSH_MAX_AGE_MS) {
      return { status: 200, outcome: 'stale', body: { accepted: 0, stale: true, reason: 'published more than 7 days ago' } };
    }
    if (!g.users.includes(n.emailAddress)) {
      // Acknowledged (Pub/Sub would redeliver a refusal for a week) but nothing happens.
      return { status: 200, outcome: 'ignored', body: { accepted: 0, reason: 'not a mailbox this installation syncs' } };
    }
    const fresh = await ctx.fresh([`gmail:${n.messageId}`]);
    if (!fresh.size) return { status: 200, outcome: 'duplicate', body: { accepted: 0, duplicate: true } };
    return {
      status: 200,
      outcome: 'accepted',
      body: { accepted: 1 },
      work: [{ connection: n.emailAddress, entityType: EMAIL_TYPE, incremental: true }],
    };
  },
};
