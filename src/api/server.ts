/**
 * REST API (Fastify) on API_PORT (:8000): trigger a sync, read the sync status, health.
 * Webhook and conflict endpoints arrive with their issues.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { timingSafeEqual, createHash } from 'node:crypto';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { listConflicts, loadConflict } from '../store/conflicts';
import { conflictPage } from './conflict-page';
import { registerWebhooks } from './webhooks/routes';
import { codecRoutes } from './codec';
import type { Metrics } from '../metrics';
import type { Pool } from 'pg';
import type { Config } from '../config';
import { CONNECTORS, SYSTEM_NAMES, definitionOf, entityNames, entitySpec } from '../connectors/registry';
import { DEFAULT_CONNECTION } from '../core/model';
import { systemConnections } from '../deps';
import { operatorStatus } from '../status';
import type { ConnectorPool } from '../activities';
import { queryStatus, triggerSync } from '../temporal';
import { backfillSchedule, listSchedules, pauseSchedule, ScheduleInputError, triggerSchedule, unpauseSchedule } from '../schedules';
import {
  conflictWorkflowId,
  detailsQuery,
  resolveUpdate,
  validateResolution,
  type ConflictView,
  type ResolutionInput,
} from '../workflows/definitions';

export interface ApiDeps {
  metrics?: Metrics;
  cfg: Config;
  db: Pool;
  temporal: Client;
  /** systems with credentials on this installation */
  configuredSystems: ReadonlySet<string>;
  /** this configuration's connectors (built, never called), for the budgets in the status */
  connectors?: ConnectorPool;
}

/**
 * A request's value, quoted for an error message: short strings as JSON, anything else by its
 * type (a deeply nested value would overflow JSON.stringify, a huge one would be echoed whole).
 */
export function quoted(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v);
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return String(v);
  return Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : typeof v;
}

/** Ids from a URL that can name a workflow or a row: printable, and short enough for Temporal's workflow-ID limit. */
const PLAIN_ID = /^[^\u0000-\u001f\u007f]{1,200}$/;

export function buildApi(deps: ApiDeps): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });

  app.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    void reply.code(status).send({ error: status === 500 ? 'internal error' : err.message });
  });

  app.get('/health', async () => ({ ok: true }));

  /** The API process's own metrics (webhook outcomes); the worker's are on METRICS_PORT. */
  app.get('/metrics', async (_req, reply) => {
    if (!deps.metrics) return reply.code(404).send({ error: 'no metrics in this process' });
    return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  /**
   * Access. Write endpoints need `Authorization: Bearer <API_TOKEN>` (none configured: they answer
   * 503). Endpoints that return record content or text that may quote it (conflicts, the status and
   * the workflows' last errors, schedules named by connection) need the API token or the read-only
   * API_READ_TOKEN (neither configured: 503). Health, metrics and the review page's empty shell stay
   * open; webhooks are open and verified by their sender's signature. Checked on request, before
   * a body is read.
   */
  const digest = (v: string) => createHash('sha256').update(v).digest();
  const matches = (given: Buffer, token: string | undefined) => token !== undefined && timingSafeEqual(given, digest(token));
  const bearer = (req: FastifyRequest): string => {
    const header = req.headers.authorization;
    const m = typeof header === 'string' ? /^Bearer +(\S+) *$/i.exec(header) : null;
    return m ? m[1]! : '';
  };
  const denied = (reply: FastifyReply, status: number, error: string) =>
    reply.code(status).header('www-authenticate', 'Bearer realm="aurora-sync"').header('cache-control', 'no-store').send({ error });
  /** which token the request carries: both are always compared (constant time, no early exit) */
  const roleOf = (req: FastifyRequest): 'write' | 'read' | null => {
    const given = bearer(req);
    if (!given) return null;
    const d = digest(given);
    const write = matches(d, deps.cfg.apiToken);
    const read = matches(d, deps.cfg.apiReadToken);
    return write ? 'write' : read ? 'read' : null;
  };
  const requireToken = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!deps.cfg.apiToken) return reply.code(503).send({ error: 'API_TOKEN is not configured on this server; write endpoints are disabled' });
    const role = roleOf(req);
    if (role === 'read') return denied(reply, 403, 'the read-only token (API_READ_TOKEN) cannot change anything; use API_TOKEN');
    if (role !== 'write') return denied(reply, 401, 'missing or wrong API token (Authorization: Bearer <API_TOKEN>)');
  };
  const requireRead = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!deps.cfg.apiToken && !deps.cfg.apiReadToken) {
      return reply.code(503).send({ error: 'neither API_TOKEN nor API_READ_TOKEN is configured on this server; endpoints that return record content are disabled' });
    }
    void reply.header('cache-control', 'no-store');
    if (!roleOf(req)) return denied(reply, 401, 'missing or wrong token (Authorization: Bearer <API_TOKEN or API_READ_TOKEN>)');
  };

  app.post('/api/sync/trigger', { onRequest: requireToken }, async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return reply.code(400).send({ error: 'body must be a JSON object {system, entity_type?, connection?}' });
    const system = body.system;
    if (typeof system !== 'string' || !definitionOf(system)) {
      return reply.code(400).send({ error: `unknown system ${quoted(system)}; expected one of: ${SYSTEM_NAMES.join(', ')}` });
    }
    let entityType: string | undefined;
    if (body.entity_type !== undefined && body.entity_type !== null && body.entity_type !== 'all') {
      entityType = entitySpec(system, body.entity_type)?.type;
      if (!entityType) return reply.code(400).send({ error: `unknown entity_type ${quoted(body.entity_type)} for ${system}; expected one of: ${entityNames(system)}` });
    }
    if (!deps.configuredSystems.has(system)) {
      return reply.code(409).send({ error: `${system} is not configured (no credentials); nothing to sync` });
    }
    const connections = systemConnections(deps.cfg).find((s) => s.def.system === system)?.connections ?? [];
    if (body.connection !== undefined && (typeof body.connection !== 'string' || !connections.includes(body.connection))) {
      return reply.code(400).send({ error: `unknown connection ${quoted(body.connection)} for ${system}; expected one of: ${connections.join(', ')}` });
    }
    const targets = typeof body.connection === 'string' ? [body.connection] : connections;
    const workflowIds: string[] = [];
    for (const connection of targets) workflowIds.push(await triggerSync(deps.temporal, deps.cfg, { system, connection }, entityType));
    return reply.code(202).send({
      triggered: true,
      system,
      entity_type: entityType ? entitySpec(system, entityType)!.plural : 'all',
      workflow_id: workflowIds[0],
      workflow_ids: workflowIds,
    });
  });

  app.get('/api/sync/status', { onRequest: requireRead }, async () => operatorStatus({ cfg: deps.cfg, db: deps.db, temporal: deps.temporal, connectors: deps.connectors }));

  // Temporal Schedules (reconciliation, channel renewal): read with a token (their ids name connections, i.e. mailboxes), changed with the API token.
  app.get('/api/schedules', { onRequest: requireRead }, async () => ({ schedules: await listSchedules(deps.temporal, deps.cfg) }));
  const scheduleAction = (run: (id: string, body: Record<string, unknown>) => Promise<void>, done: string) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      const { id } = req.params as { id: string };
      const body = req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? (req.body as Record<string, unknown>) : {};
      try {
        await run(id, body);
      } catch (err) {
        if (err instanceof ScheduleInputError) return reply.code(err.status).send({ error: err.message });
        throw err;
      }
      return reply.code(202).send({ schedule: id, [done]: true });
    };
  app.post('/api/schedules/:id/trigger', { onRequest: requireToken }, scheduleAction((id) => triggerSchedule(deps.temporal, deps.cfg, id), 'triggered'));
  app.post('/api/schedules/:id/pause', { onRequest: requireToken }, scheduleAction((id, b) => pauseSchedule(deps.temporal, deps.cfg, id, b.reason), 'paused'));
  app.post('/api/schedules/:id/unpause', { onRequest: requireToken }, scheduleAction((id, b) => unpauseSchedule(deps.temporal, deps.cfg, id, b.note), 'unpaused'));
  app.post('/api/schedules/:id/backfill', { onRequest: requireToken }, scheduleAction((id, b) => backfillSchedule(deps.temporal, deps.cfg, id, b.from, b.to), 'backfilled'));

  /** The running workflow's own view (cursor, counts, last error per entity type). `?connection=` for systems with several. */
  app.get('/api/sync/workflows/:system', { onRequest: requireRead }, async (req, reply) => {
    const { system } = req.params as { system: string };
    const { connection } = (req.query ?? {}) as { connection?: string };
    if (!definitionOf(system)) return reply.code(404).send({ error: `unknown system ${quoted(system)}` });
    const connections = systemConnections(deps.cfg).find((s) => s.def.system === system)?.connections ?? [];
    if (connection !== undefined && (typeof connection !== 'string' || !connections.includes(connection))) {
      return reply.code(404).send({ error: `unknown connection ${quoted(connection)} for ${system}; expected one of: ${connections.join(', ') || '(none configured)'}` });
    }
    const status = await queryStatus(deps.temporal, deps.cfg, { system, connection: connection ?? DEFAULT_CONNECTION });
    if (!status) return reply.code(404).send({ error: `sync workflow for ${system}${connection ? ` (${connection})` : ''} is not running` });
    return status;
  });

  // ------------------------------------------------------------------ conflicts
  /** `conflict:hubspot:contact:<id>` (as in the Temporal UI) or `hubspot:contact:<id>`. */
  const parseConflictId = (raw: string): { system: string; entityType: string; localId: string } | null => {
    const m = /^(?:conflict:)?([a-z_]+):([a-z_]+):(.+)$/.exec(raw);
    const spec = m ? entitySpec(m[1]!, m[2]) : undefined;
    if (!m || !spec || !PLAIN_ID.test(m[3]!)) return null;
    return { system: m[1]!, entityType: spec.type, localId: m[3]! };
  };
  const handleFor = (c: { system: string; entityType: string; localId: string }) =>
    deps.temporal.workflow.getHandle(conflictWorkflowId(c.system, c.entityType, c.localId, deps.cfg.temporal.workflowIdPrefix));
  const publicId = (system: string, entityType: string, localId: string) => `conflict:${system}:${entityType}:${localId}`;

  app.get('/api/conflicts', { onRequest: requireRead }, async () => ({
    conflicts: (await listConflicts(deps.db)).map((c) => ({ id: publicId(c.system, c.entity_type, c.local_id), ...c })),
  }));

  app.get('/api/conflicts/:id', { onRequest: requireRead }, async (req, reply) => {
    const c = parseConflictId((req.params as { id: string }).id);
    if (!c) return reply.code(404).send({ error: 'unknown conflict id; expected conflict:<system>:<entity_type>:<local_id>' });
    try {
      const view: ConflictView = await handleFor(c).query(detailsQuery);
      return { ...view, id: publicId(c.system, c.entityType, c.localId) };
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      const details = await loadConflict(deps.db, c.system, entitySpec(c.system, c.entityType)!, c.localId);
      if (!details) return reply.code(404).send({ error: `no conflict ${publicId(c.system, c.entityType, c.localId)}` });
      return { id: publicId(c.system, c.entityType, c.localId), status: 'open', details, result: null, rejected: [], autoResolveAt: null };
    }
  });

  app.post('/api/conflicts/:id/resolve', { onRequest: requireToken }, async (req, reply) => {
    const c = parseConflictId((req.params as { id: string }).id);
    if (!c) return reply.code(404).send({ error: 'unknown conflict id; expected conflict:<system>:<entity_type>:<local_id>' });
    const details = await loadConflict(deps.db, c.system, entitySpec(c.system, c.entityType)!, c.localId);
    if (!details || details.status !== 'conflict') {
      const handle = handleFor(c);
      const known = await handle.describe().then(() => true, () => false);
      return known
        ? reply.code(409).send({ error: 'this conflict is already resolved' })
        : reply.code(404).send({ error: `no conflict ${publicId(c.system, c.entityType, c.localId)}` });
    }
    // Field names are the record's own (validateResolution looks them up in a plain object: "constructor" is no field).
    const fields = (req.body as { fields?: unknown } | null)?.fields;
    const foreign = fields && typeof fields === 'object' && !Array.isArray(fields) ? Object.keys(fields).find((f) => !Object.hasOwn(details.kinds, f)) : undefined;
    if (foreign !== undefined) return reply.code(400).send({ error: `unknown field ${quoted(foreign)}; expected one of ${Object.keys(details.kinds).join(', ')}` });
    const error = validateResolution(req.body, details);
    if (error) return reply.code(400).send({ error });
    try {
      const result = await handleFor(c).executeUpdate(resolveUpdate, { args: [req.body as ResolutionInput] });
      return reply.code(200).send(result);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return reply.code(404).send({ error: 'the conflict workflow is not running yet; try again shortly' });
      if (err instanceof WorkflowUpdateFailedError) {
        const cause = (err.cause as Error | undefined)?.message ?? err.message;
        return reply.code(/already resolved/.test(cause) ? 409 : 400).send({ error: cause });
      }
      const msg = (err as Error).message ?? '';
      if (/already resolved|rejected|Update/.test(msg)) return reply.code(400).send({ error: msg });
      throw err;
    }
  });

  registerWebhooks(app, deps);
  void app.register(codecRoutes, { cfg: deps.cfg }); // /codec/decode, /codec/encode for the Temporal Web UI and CLI (src/api/codec.ts)

  /** The review page: an empty shell that asks for the token; the data comes from the API with it. */
  app.get('/conflicts', async (_req, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY')
      .header('x-content-type-options', 'nosniff')
      .send(conflictPage()));

  return app;
}
