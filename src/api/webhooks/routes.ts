/**
 * Webhook endpoints: verify, deduplicate, answer fast, and hand the work to the system's workflow
 * by signal (signalWithStart when it is not running). Never sync inside the request.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Config } from '../../config';
import type { Metrics } from '../../metrics';
import { ENTITY_TYPES, type EntityType } from '../../core/entities';
import { startOptionsFor } from '../../temporal';
import { webhookSignal, type SystemName } from '../../workflows/definitions';
import { verifyFireflies, verifyGoogleChannel, verifyHubSpot } from './verify';

export interface WebhookDeps {
  cfg: Config;
  db: Pool;
  temporal: Client;
  metrics?: Metrics;
  configuredSystems: ReadonlySet<string>;
}

const HUBSPOT_TYPES: Record<string, EntityType> = { contact: 'contact', company: 'company', deal: 'deal' };
const SUBSCRIPTION = /^(contact|company|deal)\.(creation|deletion|propertyChange|restore|merge|associationChange|privacyDeletion)$/;
/** associationType like CONTACT_TO_COMPANY: the other side's entity type */
function otherSide(associationType: unknown): EntityType | undefined {
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

export function registerWebhooks(app: FastifyInstance, deps: WebhookDeps): void {
  const count = (system: string, outcome: string) => deps.metrics?.webhooks.inc({ system, outcome });
  const reject = (reply: FastifyReply, system: string, status: number, outcome: string, error: string) => {
    count(system, outcome);
    return reply.code(status).send({ error });
  };

  void app.register(async (scope) => {
    // The signature covers the exact bytes: keep the raw body.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: deps.cfg.webhooks.maxBodyBytes }, (_req, body, done) => done(null, body));
    scope.setErrorHandler((err: { statusCode?: number; code?: string; message: string }, req, reply) => {
      const system = req.url.split('/').pop()?.split('?')[0] ?? 'unknown';
      if (err.statusCode === 413 || err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reject(reply, system, 413, 'too_large', 'body too large');
      return reject(reply, system, err.statusCode && err.statusCode < 500 ? err.statusCode : 500, 'error', err.statusCode && err.statusCode < 500 ? err.message : 'internal error');
    });

    scope.post('/api/webhooks/hubspot', async (req, reply) => {
      const raw = typeof req.body === 'string' ? req.body : '';
      const secret = deps.cfg.webhooks.hubspotClientSecret;
      if (!secret || !deps.configuredSystems.has('hubspot')) {
        return reject(reply, 'hubspot', 503, 'not_configured', 'hubspot webhooks are not configured (HUBSPOT_CLIENT_SECRET and HUBSPOT_API_KEY)');
      }
      const verdict = verifyHubSpot({
        method: req.method,
        uri: deps.cfg.webhooks.publicBaseUrl + req.url,
        rawBody: raw,
        headers: req.headers,
        clientSecret: secret,
      });
      if (!verdict.ok) return reject(reply, 'hubspot', 401, /stale/.test(verdict.reason) ? 'stale' : 'bad_signature', verdict.reason);
      let events: HubSpotEvent[];
      try {
        events = JSON.parse(raw) as HubSpotEvent[];
      } catch {
        return reject(reply, 'hubspot', 400, 'malformed', 'body is not valid JSON');
      }
      if (!Array.isArray(events) || events.length === 0) return reject(reply, 'hubspot', 400, 'malformed', 'expected a non-empty JSON array of events');
      for (const e of events) {
        if (typeof e !== 'object' || e === null || !/^\d+$/.test(String(e.eventId ?? '')) || !/^\d+$/.test(String(e.objectId ?? '')) || typeof e.subscriptionType !== 'string') {
          return reject(reply, 'hubspot', 400, 'malformed', 'each event needs numeric eventId and objectId and a subscriptionType');
        }
        if (!SUBSCRIPTION.test(e.subscriptionType)) {
          return reject(reply, 'hubspot', 400, 'unknown_type', `unsupported subscriptionType "${e.subscriptionType}"`);
        }
      }
      // Deduplicate by eventId: HubSpot retries deliveries; a replayed batch changes nothing.
      const { rows } = await deps.db.query<{ event_id: string }>(
        `INSERT INTO webhook_events (system, event_id) SELECT 'hubspot', unnest($1::text[])
         ON CONFLICT DO NOTHING RETURNING event_id`,
        [events.map((e) => String(e.eventId))],
      );
      const fresh = new Set(rows.map((r) => r.event_id));
      const ids = new Map<EntityType, Set<string>>();
      const add = (type: EntityType | undefined, id: unknown) => {
        if (type && id !== undefined && id !== null && /^\d+$/.test(String(id))) (ids.get(type) ?? ids.set(type, new Set()).get(type)!).add(String(id));
      };
      for (const e of events) {
        if (!fresh.has(String(e.eventId))) continue;
        const type = HUBSPOT_TYPES[e.subscriptionType.split('.')[0]!];
        add(type, e.objectId);
        if (e.subscriptionType.endsWith('.merge')) {
          add(type, e.primaryObjectId);
          for (const m of e.mergedObjectIds ?? []) add(type, m);
        }
        if (e.subscriptionType.endsWith('.associationChange')) {
          add(type, e.fromObjectId);
          add(otherSide(e.associationType), e.toObjectId);
        }
      }
      count('hubspot', fresh.size ? 'accepted' : 'duplicate');
      if (ids.size) {
        const opts = startOptionsFor(deps.cfg, 'hubspot' as SystemName, { runImmediately: false });
        for (const type of ENTITY_TYPES) {
          const list = ids.get(type);
          if (!list?.size) continue;
          await deps.temporal.workflow.signalWithStart('syncWorkflow', { ...opts, signal: webhookSignal, signalArgs: [{ entityType: type, ids: [...list] }] });
        }
      }
      return reply.code(200).send({ accepted: fresh.size, duplicates: events.length - fresh.size });
    });

    scope.post('/api/webhooks/google', async (req, reply) => {
      const token = deps.cfg.webhooks.googleChannelToken;
      if (!token) return reject(reply, 'google', 503, 'not_configured', 'google_workspace is not configured (GOOGLE_CHANNEL_TOKEN)');
      const h = (n: string) => req.headers[n] as string | undefined;
      if (!h('x-goog-channel-id') || !h('x-goog-resource-state') || !h('x-goog-resource-id')) {
        return reject(reply, 'google', 400, 'malformed', 'missing X-Goog-Channel-ID / X-Goog-Resource-ID / X-Goog-Resource-State');
      }
      const verdict = verifyGoogleChannel(req.headers, token);
      if (!verdict.ok) return reject(reply, 'google', 401, 'bad_signature', verdict.reason);
      // Verified; the Google Workspace sync arrives with its own issue.
      return reject(reply, 'google', 503, 'not_configured', 'google_workspace sync is not configured on this installation yet; notification verified and dropped');
    });

    scope.post('/api/webhooks/fireflies', async (req, reply) => {
      const secret = deps.cfg.webhooks.firefliesSecret;
      if (!secret) return reject(reply, 'fireflies', 503, 'not_configured', 'fireflies is not configured (FIREFLIES_WEBHOOK_SECRET)');
      const raw = typeof req.body === 'string' ? req.body : '';
      const verdict = verifyFireflies(req.headers, raw, secret);
      if (!verdict.ok) return reject(reply, 'fireflies', 401, 'bad_signature', verdict.reason);
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        return reject(reply, 'fireflies', 400, 'malformed', 'body is not valid JSON');
      }
      if (typeof body !== 'object' || body === null || typeof (body.meeting_id ?? body.meetingId) !== 'string') {
        return reject(reply, 'fireflies', 400, 'malformed', 'expected {meeting_id} (v2) or {meetingId} (v1)');
      }
      return reject(reply, 'fireflies', 503, 'not_configured', 'fireflies sync is not configured on this installation yet; notification verified and dropped');
    });
  });
}
