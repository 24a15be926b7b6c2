/** Builds the long-lived clients once per process (pg pool, Redis, connectors, metrics). */
import Redis from 'ioredis';
import { ApplicationFailure } from '@temporalio/common';
import type { Pool } from 'pg';
import type { Config } from './config';
import type { ConflictRuntime, ConnectorPool } from './activities';
import { CONNECTORS, definitionOf } from './connectors/registry';
import type { Connector, ConnectorDefinition } from './connectors/types';
import { ErrorType } from './core/errors';
import { DEFAULT_CONNECTION } from './core/model';
import { drawnAs, RollingWindowLimiter, SharedWindowLimiter } from './core/ratelimit';
import { createMetrics, observeBudget, observeState, seriesAtZero, windowLabel, type BudgetInfo, type Metrics } from './metrics';
import { createPool } from './store/db';

export interface Deps {
  db: Pool;
  redis: Redis;
  connectors: ConnectorPool;
  metrics: Metrics;
  /** set by the worker once it has a Temporal client */
  conflicts?: ConflictRuntime;
  close(): Promise<void>;
}

export function createRedis(cfg: Config['redis']): Redis {
  return new Redis({
    host: cfg.host,
    port: cfg.port,
    password: cfg.password,
    // Fail fast while Redis is down (the outbox keeps the events); reconnect in the background.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    lazyConnect: false,
  }).on('error', () => undefined);
}

/** Each system's connections as the configuration gives them, or why it is not configured (no clients built). */
export function systemConnections(cfg: Config): { def: ConnectorDefinition; connections: string[]; notConfigured?: string }[] {
  return CONNECTORS.map((def) => {
    const c = def.connections(cfg);
    return 'connections' in c ? { def, connections: c.connections } : { def, connections: [], notConfigured: c.notConfigured };
  });
}

/** Which systems have credentials (no clients built). */
export function configuredSystems(cfg: Config): Set<string> {
  return new Set(systemConnections(cfg).filter((s) => s.connections.length).map((s) => s.def.system));
}

/**
 * The connectors of this process: one client per system and connection, built on first use, with
 * request budgets shared by every worker through Redis (a per-process window while Redis is down).
 */
export function createConnectorPool(cfg: Config, metrics?: Metrics, redis?: Redis): ConnectorPool {
  const built = new Map<string, Connector>();
  const budgets = new Map<string, BudgetInfo[]>();
  const track = (b: BudgetInfo) => {
    const key = `${b.system}\u0000${b.connection}`;
    const mine = budgets.get(key) ?? [];
    if (!mine.some((x) => x.budget === b.budget)) mine.push(b);
    budgets.set(key, mine);
    if (metrics) observeBudget(metrics, b);
  };
  const configured = new Map(systemConnections(cfg).filter((s) => s.connections.length).map((s) => [s.def.system, s.connections]));
  return {
    configured: () => configured,
    budgets: (system, connection) => budgets.get(`${system}\u0000${connection}`) ?? [],
    get(system, connection) {
      const key = `${system}\u0000${connection}`;
      const existing = built.get(key);
      if (existing) return existing;
      const def = definitionOf(system);
      if (!def || !configured.get(system)?.includes(connection)) {
        throw ApplicationFailure.create({
          type: ErrorType.NotConfigured,
          message: `${system}${connection === DEFAULT_CONNECTION ? '' : ` connection ${connection}`} is not configured on this worker (no credentials)`,
          nonRetryable: true,
        });
      }
      const connector = def.create(cfg, connection, {
        cfg,
        budget: (name, limit, windowMs) => {
          const b = redis ? new SharedWindowLimiter(redis, `aurora:ratelimit:${name}`, limit, windowMs) : new RollingWindowLimiter(limit, windowMs);
          track({ system, connection, budget: name, window: windowLabel(windowMs), limit, remaining: () => b.remaining() });
          return drawnAs(name, b);
        },
        onRequest: () => metrics?.apiCalls.inc({ system }),
        onRateLimited: () => metrics?.rateLimited.inc({ system }),
        reportBudget: (name, window, limit, remaining) => track({ system, connection, budget: name, window, limit, remaining }),
        redis,
      });
      built.set(key, connector);
      return connector;
    },
  };
}

export function createDeps(cfg: Config): Deps {
  const db = createPool(cfg.postgres, 10);
  const redis = createRedis(cfg.redis);
  const metrics = createMetrics();
  const connectors = createConnectorPool(cfg, metrics, redis);
  for (const system of connectors.configured().keys()) { const def = definitionOf(system); if (def) seriesAtZero(metrics, def); }
  observeState(metrics, db, () =>
    [...connectors.configured().keys()].map((system) => ({ system, types: (definitionOf(system)?.entities ?? []).map((e) => e.type) })),
  );
  return {
    db,
    redis,
    connectors,
    metrics,
    async close() {
      redis.disconnect();
      await db.end();
    },
  };
}
