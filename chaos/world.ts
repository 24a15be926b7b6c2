/**
 * One scenario's world: a fresh database on the chaos Postgres, one system's sandbox (HubSpot,
 * Google or Fireflies, in this process, behind a TCP proxy the scenario can cut), the event
 * collector on the chaos Redis, a Temporal client, and real worker processes on the scenario's own
 * task queue and workflow-ID prefix, configured for that system only.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Pool } from 'pg';
import type { HubSpotSandbox } from '../src/sandbox/hubspot';
import { DEFAULT_CONNECTION } from '../src/core/model';
import { statusQuery, syncWorkflowId, triggerSignal, type SyncStatus } from '../src/workflows/definitions';
import { collectEvents, type EventCollector } from './events';
import { startProxy, type Proxy } from './proxy';
import { PG_DB, sleep, type Services } from './services';
import { firefliesPart, googlePart, hubspotPart, type Driver, type SystemName } from './systems';
import { workerProcess, type WorkerProc } from './workers';

export interface World {
  name: string;
  services: Services;
  system: SystemName;
  /** the HubSpot sandbox (HubSpot worlds only) */
  sandbox: HubSpotSandbox;
  driver: Driver;
  proxy: Proxy;
  db: Pool;
  events: EventCollector;
  /** the workers' environment */
  env: Record<string, string>;
  workflowId: string;
  workers: WorkerProc[];
  addWorker(name?: string): WorkerProc;
  client(): Promise<Client>;
  status(): Promise<SyncStatus | null>;
  trigger(): Promise<void>;
  close(): Promise<void>;
}

export interface WorldOptions {
  /** default hubspot */
  system?: SystemName;
  syncIntervalSeconds?: number;
  heartbeatTimeoutSeconds?: number;
  latencyMs?: number;
  rateLimits?: boolean;
  env?: Record<string, string>;
}

export async function createWorld(name: string, services: Services, opts: WorldOptions = {}): Promise<World> {
  const id = randomUUID().slice(0, 8);
  const dbName = `chaos_${name.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${id}`;
  const admin = new Pool({ ...pgConn(services), database: PG_DB, max: 1 });
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const db = new Pool({ ...pgConn(services), database: dbName, max: 4 });
  db.on('error', () => undefined); // Postgres restarts are part of the plan
  const system = opts.system ?? 'hubspot';
  const partOpts = { limits: opts.rateLimits ?? true, latencyMs: opts.latencyMs ?? 0 };
  const part = await (system === 'google' ? googlePart(partOpts) : system === 'fireflies' ? firefliesPart(partOpts) : hubspotPart(partOpts));
  const proxy = await startProxy(part.port);
  const events = await collectEvents(services.redis.port);
  await events.clearStream();
  const prefix = `chaos-${id}:`;
  const env: Record<string, string> = {
    ...services.env,
    POSTGRES_DB: dbName,
    ...part.env(proxy.url, services.dir, id),
    SYNC_INTERVAL: String(opts.syncIntervalSeconds ?? 10),
    ACTIVITY_HEARTBEAT_TIMEOUT: String(opts.heartbeatTimeoutSeconds ?? 5),
    TEMPORAL_TASK_QUEUE: `chaos-${id}`,
    WORKFLOW_ID_PREFIX: prefix,
    METRICS_PORT: '0',
    LOG_LEVEL: 'info',
    SECRETS_DIR: '/nonexistent-secrets',
    API_TOKEN: 'chaos-api-token',
    RECONCILE_INTERVAL: '7d',
    ...opts.env,
  };
  let client: Client | undefined;
  let connection: Connection | undefined;
  const w: World = {
    name,
    services,
    system,
    get sandbox(): HubSpotSandbox {
      if (!part.hubspot) throw new Error(`chaos: the ${system} world has no HubSpot sandbox`);
      return part.hubspot;
    },
    driver: part.driver(db),
    proxy,
    db,
    events,
    env,
    workflowId: '',
    workers: [],
    addWorker(wname = `worker-${w.workers.length + 1}`) {
      const p = workerProcess(wname, env, join(services.dir, `${dbName}-${wname}.log`));
      w.workers.push(p);
      return p;
    },
    async client() {
      if (!client) {
        connection = await Connection.connect({ address: services.temporal.address });
        client = new Client({ connection, namespace: 'default' });
      }
      return client;
    },
    async status() {
      try {
        const c = await w.client();
        return await withTimeout(c.workflow.getHandle(w.workflowId).query(statusQuery), 5_000);
      } catch {
        return null;
      }
    },
    async trigger() {
      const c = await w.client();
      await withTimeout(c.workflow.getHandle(w.workflowId).signal(triggerSignal), 5_000).catch(() => undefined);
    },
    async close() {
      for (const p of w.workers) await p.stop().catch(() => undefined);
      if (client) {
        await client.workflow.getHandle(w.workflowId).terminate('chaos scenario over').catch(() => undefined);
        await connection?.close().catch(() => undefined);
      }
      await events.close();
      await proxy.close();
      await part.close();
      await db.end().catch(() => undefined);
      const a = new Pool({ ...pgConn(services), database: PG_DB, max: 1 });
      await a.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
      await a.end();
    },
  };
  w.workflowId = syncWorkflowId(w.driver.registrySystem, prefix, w.driver.connection === DEFAULT_CONNECTION ? undefined : w.driver.connection);
  return w;
}

function pgConn(s: Services) {
  return { host: '127.0.0.1', port: s.pg.port, user: s.env.POSTGRES_USER, password: s.env.POSTGRES_PASSWORD };
}

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, rej) => (t = setTimeout(() => rej(new Error(`timed out after ${ms} ms`)), ms)))]).finally(() => clearTimeout(t));
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 500): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await sleep(everyMs);
  }
  throw new Error(`chaos: timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
}

export async function count(db: Pool, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await db.query<{ n: string }>(sql, params);
  return Number(rows[0]?.n ?? 0);
}
