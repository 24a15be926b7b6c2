/**
 * Webhook endpoints, one per connector that declares webhooks (`POST /api/webhooks/<path>`): the
 * connector verifies and routes; this layer keeps the raw body, deduplicates, counts outcomes,
 * keeps the work in the webhook inbox and answers; the inbox's forwarder (./forward.ts) hands it to
 * the sync workflows by signal (signalWithStart when a workflow is not running). Never syncs inside
 * the request, and the answer does not wait for Temporal.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Config } from '../../config';
import { WEBHOOK_OUTCOMES, type Metrics } from '../../metrics';
import { CONNECTORS } from '../../connectors/registry';
import type { WebhookContext } from '../../connectors/types';
import { utf8OrNull } from '../../connectors/webhook-body';
import { findChannel, touchChannel } from '../../store/state';
import { forgetEventIds, freshEventIds } from '../../store/webhooks';
import { enqueueWork } from '../../store/inbox';
import { signalWebhook, triggerSync } from '../../temporal';
import { InboxForwarder, type ForwarderOptions } from './forward';

export interface WebhookDeps {
  cfg: Config;
  db: Pool;
  temporal: Client;
  metrics?: Metrics;
  configuredSystems: ReadonlySet<string>;
  inbox?: ForwarderOptions;
}

/**
 * Days webhook event ids are kept: past HubSpot's 24 h of retries (3 days at least), and as long as
 * any connector says its deliveries could be replayed (Google: a channel's lifetime, Pub/Sub's 7 days).
 */
export function eventIdRetentionDays(cfg: Config): number {
  return Math.max(3, ...CONNECTORS.map((d) => Math.ceil((d.webhooks?.rememberSeconds?.(cfg) ?? 0) / 86_400)));
}

export function registerWebhooks(app: FastifyInstance, deps: WebhookDeps): void {
  const count = (system: string, outcome: string) => deps.metrics?.webhooks.inc({ system, outcome });
  // Deliveries arriving while a round of signals is on its way go out together in the next one.
  const forwarder = new InboxForwarder(
    deps.db,
    (g) => ('ids' in g ? signalWebhook(deps.temporal, deps.cfg, g.target, g.entityType, g.ids, g.propertyOnly) : triggerSync(deps.temporal, deps.cfg, g.target, g.entityType).then(() => undefined)),
    deps.inbox,
  );
  app.addHook('onReady', async () => forwarder.start());
  app.addHook('onClose', async () => forwarder.stop());
  const reject = (reply: FastifyReply, system: string, status: number, outcome: string, error: string) => {
    count(system, outcome);
    return reply.code(status).send({ error });
  };

  void app.register(async (scope) => {
    // The signature covers the exact bytes: keep the raw body as bytes (decoded only for the verifier's text, strictly).
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: deps.cfg.webhooks.maxBodyBytes }, (_req, body, done) => done(null, body));
    const systemOfPath = new Map(CONNECTORS.flatMap((d) => (d.webhooks ? [[d.webhooks.path, d.system] as const] : [])));
    scope.setErrorHandler((err: { statusCode?: number; code?: string; message: string }, req, reply) => {
      const path = req.url.split('/').pop()?.split('?')[0] ?? 'unknown';
      const system = systemOfPath.get(path) ?? 'unknown';
      if (err.statusCode === 413 || err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reject(reply, system, 413, 'too_large', 'body too large');
      return reject(reply, system, err.statusCode && err.statusCode < 500 ? err.statusCode : 500, 'error', err.statusCode && err.statusCode < 500 ? err.message : 'internal error');
    });

    for (const def of CONNECTORS) {
      const handler = def.webhooks;
      if (!handler) continue;
      // every outcome of a configured system exists from the start (at 0), so its first delivery shows in rate()/increase()
      if (deps.configuredSystems.has(def.system)) for (const outcome of WEBHOOK_OUTCOMES) deps.metrics?.webhooks.inc({ system: def.system, outcome }, 0);
      scope.post(`/api/webhooks/${handler.path}`, async (req, reply) => {
        // The push channel this request named and the verifier looked up (one of this system's): touched only when the verdict accepts it.
        let looked: string | null = null;
        // The event ids this delivery recorded as seen: forgotten again if its work cannot be handed on.
        const recorded: string[] = [];
        const ctx: WebhookContext = {
          fresh: async (ids) => {
            const got = await freshEventIds(deps.db, def.system, ids);
            recorded.push(...got);
            return got;
          },
          channel: async (id) => {
            const ch = await findChannel(deps.db, id);
            if (!ch || ch.system !== def.system) return null;
            looked = id;
            return ch;
          },
        };
        if (!deps.configuredSystems.has(def.system)) {
          return reject(reply, def.system, 503, 'not_configured', `${def.system} is not configured on this installation (no credentials)`);
        }
        const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const verdict = await handler.handle(
          { method: req.method, publicUrl: deps.cfg.webhooks.publicBaseUrl + req.url, headers: req.headers, bytes, rawBody: utf8OrNull(bytes) },
          ctx,
          deps.cfg,
        );
        count(def.system, verdict.outcome);
        // a channel's last message: a new one (a replay is none)
        if (verdict.outcome === 'accepted' && looked !== null) await touchChannel(deps.db, looked);
        if (verdict.work?.length) {
          try {
            await enqueueWork(deps.db, def.system, verdict.work);
          } catch (err) {
            // Postgres unreachable: answer 5xx so the sender retries, and let that retry count as new.
            await forgetEventIds(deps.db, def.system, recorded).catch(() => undefined);
            throw err;
          }
          forwarder.wake();
        }
        return reply.code(verdict.status).send(verdict.body);
      });
    }
  });
}
