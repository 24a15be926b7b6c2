/** Builds the long-lived clients once per process (pg pool, Redis, connectors, metrics). */
import { createHash } from 'node:crypto';
import Redis from 'ioredis';
import { SharedWindowLimiter } from './core/ratelimit';
import type { Pool } from 'pg';
import type { Config } from './config';
import type { Connector } from './connectors/types';
import type { ConflictRuntime } from './activities';
import { HubSpotConnector } from './connectors/hubspot/connector';
import { createMetrics, type Metrics } from './metrics';
import { createPool } from './store/db';

export interface Deps {
  db: Pool;
  redis: Redis;
  connectors: Map<string, Connector>;
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

/** Which systems have credentials (no clients built). */
export function configuredSystems(cfg: Config): Set<string> {
  return new Set(cfg.hubspot.accessToken ? ['hubspot'] : []);
}

export function createConnectors(cfg: Config, metrics?: Metrics, redis?: Redis): Map<string, Connector> {
  const connectors = new Map<string, Connector>();
  if (cfg.hubspot.accessToken) {
    // One budget per HubSpot account, shared by every worker through Redis (keyed by a hash of the token, never the token).
    const account = createHash('sha256').update(cfg.hubspot.accessToken).digest('hex').slice(0, 16);
    const budgets = redis
      ? {
          general: new SharedWindowLimiter(redis, `aurora:ratelimit:hubspot:${account}:10s`, cfg.hubspot.ratePer10s, 10_000),
          search: new SharedWindowLimiter(redis, `aurora:ratelimit:hubspot:${account}:search`, cfg.hubspot.searchPerSecond, 1_000),
        }
      : undefined;
    connectors.set(
      'hubspot',
      new HubSpotConnector({
        accessToken: cfg.hubspot.accessToken,
        baseUrl: cfg.hubspot.baseUrl,
        ratePer10s: cfg.hubspot.ratePer10s,
        searchPerSecond: cfg.hubspot.searchPerSecond,
        searchLookbackMs: cfg.hubspot.searchLookbackMs,
        onRequest: metrics ? () => metrics.apiCalls.inc({ system: 'hubspot' }) : undefined,
        budgets,
      }),
    );
  }
  return connectors;
}

export function createDeps(cfg: Config): Deps {
  const db = createPool(cfg.postgres, 10);
  const redis = createRedis(cfg.redis);
  const metrics = createMetrics();
  return {
    db,
    redis,
    connectors: createConnectors(cfg, metrics, redis),
    metrics,
    async close() {
      redis.disconnect();
      await db.end();
    },
  };
}
