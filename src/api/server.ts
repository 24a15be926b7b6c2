/**
 * REST API (Fastify) on API_PORT (:8000): trigger a sync, read the sync status, health.
 * Webhook and conflict endpoints arrive with their issues.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Config } from '../config';
import { ENTITIES, ENTITY_TYPES, parseEntityType } from '../core/entities';
import { syncStatus } from '../store/status';
import { queryStatus, triggerSync } from '../temporal';
import { SYSTEMS, type SystemName } from '../workflows/definitions';

export interface ApiDeps {
  cfg: Config;
  db: Pool;
  temporal: Client;
  /** systems with credentials on this installation */
  configuredSystems: ReadonlySet<string>;
}

export function buildApi(deps: ApiDeps): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });

  app.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    void reply.code(status).send({ error: status === 500 ? 'internal error' : err.message });
  });

  app.get('/health', async () => ({ ok: true }));

  app.post('/api/sync/trigger', async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body !== 'object' || Array.isArray(body)) return reply.code(400).send({ error: 'body must be a JSON object {system, entity_type?}' });
    const system = body.system;
    if (typeof system !== 'string' || !(SYSTEMS as readonly string[]).includes(system)) {
      return reply.code(400).send({ error: `unknown system ${JSON.stringify(system)}; expected one of: ${SYSTEMS.join(', ')}` });
    }
    let entityType;
    if (body.entity_type !== undefined && body.entity_type !== null && body.entity_type !== 'all') {
      entityType = parseEntityType(body.entity_type);
      if (!entityType) {
        return reply.code(400).send({
          error: `unknown entity_type ${JSON.stringify(body.entity_type)}; expected one of: ${ENTITY_TYPES.map((t) => ENTITIES[t].plural).join(', ')}`,
        });
      }
    }
    if (!deps.configuredSystems.has(system)) {
      return reply.code(409).send({ error: `${system} is not configured (no credentials); nothing to sync` });
    }
    const workflowId = await triggerSync(deps.temporal, deps.cfg, system as SystemName, entityType);
    return reply.code(202).send({
      triggered: true,
      system,
      entity_type: entityType ? ENTITIES[entityType].plural : 'all',
      workflow_id: workflowId,
    });
  });

  app.get('/api/sync/status', async () => syncStatus(deps.db, SYSTEMS));

  /** The running workflow's own view (cursor, counts, last error per entity type). */
  app.get('/api/sync/workflows/:system', async (req, reply) => {
    const { system } = req.params as { system: string };
    if (!(SYSTEMS as readonly string[]).includes(system)) return reply.code(404).send({ error: `unknown system ${system}` });
    const status = await queryStatus(deps.temporal, deps.cfg, system as SystemName);
    if (!status) return reply.code(404).send({ error: `sync workflow for ${system} is not running` });
    return status;
  });

  return app;
}
