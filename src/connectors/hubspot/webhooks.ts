/**
 * HubSpot webhooks: signature verification (v3 HMAC over method + URI + body + timestamp with a
 * 5-minute window; v2 and v1 digests) and routing of event batches to the records to fetch.
 */
import { createHash, createHmac } from 'node:crypto';
import { DEFAULT_CONNECTION } from '../../core/model';
import { safeEqual } from '../../core/secure';
import type { WebhookHandler, WebhookVerdict } from '../types';
import { bodyBytes, verifiedJson } from '../webhook-body';
import { hubspotConfig } from './config';
import type { HubSpotEntityType } from './entities';

export type Verdict = { ok: true; version: string } | { ok: false; reason: string };

/** HubSpot decodes these before signing (request-validation docs). */
const DECODE: [RegExp, string][] = [
  [/%3A/gi, ':'], [/%2F/gi, '/'], [/%3F/gi, '?'], [/%40/gi, '@'], [/%21/gi, '!'], [/%24/gi, '$'],
  [/%27/gi, "'"], [/%28/gi, '('], [/%29/gi, ')'], [/%2A/gi, '*'], [/%2C/gi, ','], [/%3B/gi, ';'],
];
export function hubspotUri(uri: string): string {
  return DECODE.reduce((u, [re, ch]) => u.replace(re, ch), uri);
}

export const HUBSPOT_MAX_AGE_MS = 5 * 60 * 1000;

export function verifyHubSpot(input: {
  method: string;
  /** the full URL HubSpot called: public base URL + path + query */
  uri: string;
  /** the exact bytes received (HubSpot signs them, whatever their encoding) */
  body: Uint8Array | string;
  headers: Record<string, string | string[] | undefined>;
  clientSecret: string;
  now?: number;
}): Verdict {
  const h = (name: string) => {
    const v = input.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const now = input.now ?? Date.now();
  const v3 = h('x-hubspot-signature-v3');
  if (v3) {
    const ts = h('x-hubspot-request-timestamp');
    if (!ts || !/^\d+$/.test(ts)) return { ok: false, reason: 'missing or malformed X-HubSpot-Request-Timestamp' };
    if (Math.abs(now - Number(ts)) > HUBSPOT_MAX_AGE_MS) return { ok: false, reason: 'stale timestamp (older than 5 minutes)' };
    const expected = createHmac('sha256', input.clientSecret)
      .update(`${input.method.toUpperCase()}${hubspotUri(input.uri)}`, 'utf8')
      .update(input.body)
      .update(ts, 'utf8')
      .digest('base64');
    return safeEqual(v3, expected) ? { ok: true, version: 'v3' } : { ok: false, reason: 'signature does not match (v3)' };
  }
  const sig = h('x-hubspot-signature');
  if (!sig) return { ok: false, reason: 'missing X-HubSpot-Signature-v3 / X-HubSpot-Signature' };
  const version = (h('x-hubspot-signature-version') ?? 'v1').toLowerCase();
  let prefix: string;
  if (version === 'v1') prefix = input.clientSecret;
  else if (version === 'v2') prefix = input.clientSecret + input.method.toUpperCase() + input.uri;
  else return { ok: false, reason: `unknown signature version ${version}` };
  const expected = createHash('sha256').update(prefix, 'utf8').update(input.body).digest('hex');
  return safeEqual(sig.toLowerCase(), expected) ? { ok: true, version } : { ok: false, reason: `signature does not match (${version})` };
}

const HUBSPOT_TYPES: Record<string, HubSpotEntityType> = { contact: 'contact', company: 'company', deal: 'deal' };
const SUBSCRIPTION = /^(contact|company|deal)\.(creation|deletion|propertyChange|restore|merge|associationChange|privacyDeletion)$/;
/** associationType like CONTACT_TO_COMPANY: the other side's entity type */
function otherSide(associationType: unknown): HubSpotEntityType | undefined {
  const m = /_TO_([A-Z]+)/.exec(String(associationType ?? ''));
  return m ? HUBSPOT_TYPES[m[1]!.toLowerCase()] : undefined;
}

interface HubSpotEvent {
  eventId: number | string;
  subscriptionType: string;
  objectId: number | string;
  occurredAt?: number;
  primaryObjectId?: number | string;
  mergedObjectIds?: (number | string)[];
  toObjectId?: number | string;
  fromObjectId?: number | string;
  associationType?: string;
}

const no = (status: number, outcome: string, error: string): WebhookVerdict => ({ status, outcome, body: { error } });

/** POST /api/webhooks/hubspot: HubSpot's batched event arrays. */
export const hubspotWebhooks: WebhookHandler = {
  path: 'hubspot',
  async handle(req, ctx, cfg) {
    const hs = hubspotConfig(cfg);
    if (!hs.clientSecret || !hs.accessToken) {
      return no(503, 'not_configured', 'hubspot webhooks are not configured (HUBSPOT_CLIENT_SECRET and HUBSPOT_API_KEY)');
    }
    const verdict = verifyHubSpot({ method: req.method, uri: req.publicUrl, body: bodyBytes(req), headers: req.headers, clientSecret: hs.clientSecret });
    if (!verdict.ok) return no(401, /stale/.test(verdict.reason) ? 'stale' : 'bad_signature', verdict.reason);
    // Verified: only now is the body's encoding and shape looked at (a 400 says what is wrong).
    const parsed = verifiedJson(req);
    if ('refused' in parsed) return parsed.refused;
    const events = parsed.json as HubSpotEvent[];
    if (!Array.isArray(events) || events.length === 0) return no(400, 'malformed', 'expected a non-empty JSON array of events');
    for (const e of events) {
      if (typeof e !== 'object' || e === null || !/^\d+$/.test(String(e.eventId ?? '')) || !/^\d+$/.test(String(e.objectId ?? '')) || typeof e.subscriptionType !== 'string') {
        return no(400, 'malformed', 'each event needs numeric eventId and objectId and a subscriptionType');
      }
      if (!SUBSCRIPTION.test(e.subscriptionType)) return no(400, 'unknown_type', `unsupported subscriptionType "${e.subscriptionType}"`);
    }
    // Deduplicate by eventId: HubSpot retries deliveries; a replayed batch changes nothing.
    const fresh = await ctx.fresh(events.map((e) => String(e.eventId)));
    const ids = new Map<HubSpotEntityType, Set<string>>();
    // ids named by anything but a property change (creation, merge, association change…): read whole
    const whole = new Set<string>();
    const add = (type: HubSpotEntityType | undefined, id: unknown, propertyChange = false) => {
      if (!type || id === undefined || id === null || !/^\d+$/.test(String(id))) return;
      (ids.get(type) ?? ids.set(type, new Set()).get(type)!).add(String(id));
      if (!propertyChange) whole.add(`${type}:${String(id)}`);
    };
    for (const e of events) {
      if (!fresh.has(String(e.eventId))) continue;
      const type = HUBSPOT_TYPES[e.subscriptionType.split('.')[0]!];
      add(type, e.objectId, e.subscriptionType.endsWith('.propertyChange'));
      if (e.subscriptionType.endsWith('.merge')) {
        add(type, e.primaryObjectId);
        for (const m of e.mergedObjectIds ?? []) add(type, m);
      }
      if (e.subscriptionType.endsWith('.associationChange')) {
        add(type, e.fromObjectId);
        add(otherSide(e.associationType), e.toObjectId);
      }
    }
    return {
      status: 200,
      outcome: fresh.size ? 'accepted' : 'duplicate',
      body: { accepted: fresh.size, duplicates: events.length - fresh.size },
      work: [...ids].map(([entityType, set]) => {
        const propertyOnly = [...set].filter((id) => !whole.has(`${entityType}:${id}`));
        return { connection: DEFAULT_CONNECTION, entityType, ids: [...set], ...(propertyOnly.length ? { propertyOnly } : {}) };
      }),
    };
  },
};
