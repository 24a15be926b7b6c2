/** Builds the long-lived clients once per process (pg pool, Redis, connectors, metrics). */
import Redis from 'ioredis';
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

export function createConnectors(cfg: Config, metrics?: Metrics): Map<string, Connector> {
  const connectors = new Map<string, Connector>();
  if (cfg.hubspot.accessToken) {
    connectors.set(
      'hubspot',
      new HubSpotConnector({
        accessToken: cfg.hubspot.accessToken,
        baseUrl: cfg.hubspot.baseUrl,
        ratePer10s: cfg.hubspot.ratePer10s,
        searchPerSecond: cfg.hubspot.searchPerSecond,
        searchLookbackMs: cfg.hubspot.searchLookbackMs,
        onRequest: metrics ? () => metrics.apiCalls.inc({ system: 'hubspot' }) : undefined,
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
    connectors: createConnectors(cfg, metrics),
    metrics,
    async close() {
      redis.disconnect();
      await db.end();
    },
  };
}
