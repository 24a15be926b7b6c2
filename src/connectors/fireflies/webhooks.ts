/**
 * Fireflies webhooks: POST /api/webhooks/fireflies, both forms.
 *
 *   v1: {"meetingId", "eventType": "Transcription completed", "clientReferenceId"?}
 *       x-hub-signature: <hex HMAC-SHA256(secret, raw body)>
 *   v2: {"event": "meeting.transcribed" | "meeting.summarized", "meeting_id", "timestamp", "client_reference_id"?}
 *       X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>
 *
 * With FIREFLIES_WEBHOOK_SECRET set, the signature must match the raw bytes (constant-time);
 * without it, unsigned deliveries are taken (Fireflies omits the header when no secret is set).
 * The signature covers the body but no delivery time, so replays are refused by what the body
 * says: a delivery seen before (v2: event, meeting and timestamp; v1: the body's hash) is a no-op
 * (200, counted as `duplicate`), and a v2 delivery whose timestamp is older than
 * FIREFLIES_MAX_AGE_MS is acknowledged and ignored (`stale`: a replay, or a retry so late that the
 * polling has read the transcript). The verdict asks the workflow to fetch exactly that transcript,
 * then its action items (the items of a transcript are read by its id).
 */
import { createHash, createHmac } from 'node:crypto';
import { safeEqual } from '../../core/secure';
import { DEFAULT_CONNECTION } from '../../core/model';
import type { WebhookHandler, WebhookVerdict } from '../types';
import { bodyBytes, verifiedJson } from '../webhook-body';
import { firefliesConfig } from './config';
import { ACTION_ITEM, TRANSCRIPT } from './entities';

const no = (status: number, outcome: string, error: string): WebhookVerdict => ({ status, outcome, body: { error } });

const V2_EVENTS = new Set(['meeting.transcribed', 'meeting.summarized']);
/** v2 events that concern no transcript's content */
const V2_IGNORED = new Set(['meeting.bot_joined']);
const V1_EVENTS = new Set(['transcription completed']);
const MEETING_ID = /^[A-Za-z0-9_-]{1,128}$/;
/** v2 deliveries older than this (by their signed timestamp) are acknowledged and ignored */
export const FIREFLIES_MAX_AGE_MS = 24 * 3_600_000;

/** A v2 timestamp as epoch ms (Fireflies sends ms; seconds are accepted too); null when absent or not a time. */
function timestampMs(v: unknown): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{9,16}$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n) || n <= 0) return null;
  return n < 1e11 ? n * 1000 : n;
}

export const firefliesWebhooks: WebhookHandler = {
  path: 'fireflies',
  async handle(req, ctx, cfg) {
    const secret = firefliesConfig(cfg).webhookSecret;
    const header = req.headers['x-hub-signature'];
    const given = (Array.isArray(header) ? header[0] : header)?.trim();
    if (secret) {
      if (!given) return no(401, 'bad_signature', 'missing x-hub-signature');
      const expected = createHmac('sha256', secret).update(bodyBytes(req)).digest('hex');
      // v2 prefixes the algorithm; v1 sends the bare hex.
      const hex = given.toLowerCase().startsWith('sha256=') ? given.slice(7) : given;
      if (!safeEqual(hex.toLowerCase(), expected)) return no(401, 'bad_signature', 'signature does not match');
    }
    const parsed = verifiedJson(req);
    if ('refused' in parsed) return parsed.refused;
    if (!parsed.json || typeof parsed.json !== 'object' || Array.isArray(parsed.json)) return no(400, 'malformed', 'expected a JSON object');
    const body = parsed.json as Record<string, unknown>;
    let meetingId: unknown;
    let event: string;
    if (typeof body.event === 'string') {
      event = body.event;
      meetingId = body.meeting_id;
      if (V2_IGNORED.has(event)) return { status: 200, outcome: 'ignored', body: { accepted: 0, event } };
      if (!V2_EVENTS.has(event)) return no(400, 'unknown_type', `unknown event "${event}"`);
    } else if (typeof body.eventType === 'string') {
      event = body.eventType;
      meetingId = body.meetingId;
      if (!V1_EVENTS.has(event.trim().toLowerCase())) return no(400, 'unknown_type', `unknown eventType "${event}"`);
    } else {
      return no(400, 'malformed', 'expected {event, meeting_id} (v2) or {eventType, meetingId} (v1)');
    }
    if (typeof meetingId !== 'string' || !MEETING_ID.test(meetingId)) return no(400, 'malformed', 'missing or invalid meeting id');
    const sentAt = timestampMs(body.timestamp);
    if (sentAt !== null && Date.now() - sentAt > FIREFLIES_MAX_AGE_MS) {
      return { status: 200, outcome: 'stale', body: { accepted: 0, stale: true, reason: `sent more than ${FIREFLIES_MAX_AGE_MS / 3_600_000} h ago` } };
    }
    // The same delivery again (Fireflies retries, or a replay) is a no-op.
    const eventId = `${event}:${meetingId}:${typeof body.timestamp === 'number' || typeof body.timestamp === 'string' ? body.timestamp : createHash('sha256').update(bodyBytes(req)).digest('hex')}`;
    const fresh = await ctx.fresh([eventId]);
    if (!fresh.has(eventId)) return { status: 200, outcome: 'duplicate', body: { accepted: 0, duplicate: true } };
    return {
      status: 200,
      outcome: 'accepted',
      body: { accepted: 1, event, meeting_id: meetingId },
      work: [
        { connection: DEFAULT_CONNECTION, entityType: TRANSCRIPT.type, ids: [meetingId] },
        { connection: DEFAULT_CONNECTION, entityType: ACTION_ITEM.type, ids: [meetingId] },
      ],
    };
  },
  // v1 deliveries carry no time: their hashes are kept past the v2 window (the API's floor is 3 days).
  rememberSeconds: () => (2 * FIREFLIES_MAX_AGE_MS) / 1000,
};
