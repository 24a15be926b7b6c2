/**
 * Test harness: real Postgres (a fresh database per test), real Redis, the real Temporal dev server
 * (started by scripts/test.sh), the HubSpot sandbox in-process, and a real worker per test on its own
 * task queue and workflow-ID prefix.
 */
import { randomUUID } from 'node:crypto';
import { after } from 'node:test';
import { Runtime, DefaultLogger } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { loadConfig, type Config } from '../src/config';
import { createDeps, type Deps } from '../src/deps';
import { startWorker, type RunningWorker } from '../src/worker';
import { prebuiltWorkflowBundle } from '../src/bundle';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHubSpotSandbox, type HubSpotSandbox, type SandboxOptions } from '../src/sandbox/hubspot';
import { startGoogleSandbox, type GoogleSandbox, type GoogleSandboxOptions } from '../src/sandbox/google';
import { startFirefliesSandbox, type FirefliesSandbox, type FirefliesSandboxOptions, type Plan } from '../src/sandbox/fireflies';
import { reconcileScheduleId, syncNowUpdate, syncWorkflowId, type CycleSummary, type ReconcileSummary, type ReconcileWorkflowInput } from '../src/workflows/definitions';
import { desiredSchedules } from '../src/schedules';
import { DEFAULT_CONNECTION } from '../src/core/model';
import { ensureSyncWorkflow, type SyncTarget } from '../src/temporal';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../src/api/server';
import { dataConverterFor } from '../src/core/codec';

let runtimeInstalled = false;
function quietRuntime() {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('WARN') });
}

/** The workflow bundle the production worker uses (src/bundle.ts: built once per change of the workflow sources, out of process). */
let bundle: Promise<{ codePath: string }> | undefined;
export function workflowBundle(): Promise<{ codePath: string }> {
  bundle ??= prebuiltWorkflowBundle();
  return bundle;
}

export function baseEnv(): NodeJS.ProcessEnv {
  return {
    POSTGRES_HOST: process.env.POSTGRES_HOST ?? '127.0.0.1',
    POSTGRES_PORT: process.env.POSTGRES_PORT ?? '5432',
    POSTGRES_USER: process.env.POSTGRES_USER ?? 'aurora_app',
    POSTGRES_PASSWORD: process.env.POSTGRES_PASSWORD ?? 'aurora_dev_password',
    POSTGRES_DB: process.env.POSTGRES_DB ?? 'aurora_unified',
    REDIS_HOST: process.env.REDIS_HOST ?? '127.0.0.1',
    REDIS_PORT: process.env.REDIS_PORT ?? '6379',
    TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    SECRETS_DIR: '/nonexistent-secrets',
  };
}

/** A fresh, migrated-on-first-use database; dropped by the returned cleanup. */
export async function freshDatabase(): Promise<{ name: string; drop: () => Promise<void> }> {
  const env = baseEnv();
  const name = `aurora_test_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const admin = new Pool({ host: env.POSTGRES_HOST, port: Number(env.POSTGRES_PORT), user: env.POSTGRES_USER, password: env.POSTGRES_PASSWORD, database: env.POSTGRES_DB, max: 1 });
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return {
    name,
    drop: async () => {
      const a = new Pool({ host: env.POSTGRES_HOST, port: Number(env.POSTGRES_PORT), user: env.POSTGRES_USER, password: env.POSTGRES_PASSWORD, database: env.POSTGRES_DB, max: 1 });
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await a.end();
    },
  };
}

export interface Harness {
  cfg: Config;
  env: NodeJS.ProcessEnv;
  sandbox: HubSpotSandbox;
  /** the Google sandbox, when the harness was asked for Google users */
  google: GoogleSandbox | null;
  /** the Fireflies sandbox, when the harness was asked for it (its API key is env.FIREFLIES_API_KEY) */
  fireflies: FirefliesSandbox | null;
  deps: Deps;
  db: Pool;
  client: Client;
  worker: RunningWorker | null;
  startWorker(): Promise<RunningWorker>;
  stopWorker(): Promise<void>;
  /** runs one full HubSpot cycle (or one entity type) through the workflow's syncNow update and returns its outcome */
  cycle(entityType?: string): Promise<CycleSummary>;
  /** the same for any system's connection, e.g. { system: 'google_workspace', connection: 'ana@acme.test' } */
  cycleOf(target: SyncTarget, entityType?: string): Promise<CycleSummary>;
  /** runs one reconciliation of a connection now, as its schedule would start it, and returns its result */
  reconcile(target: SyncTarget): Promise<ReconcileSummary>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  sandbox?: SandboxOptions;
  env?: Record<string, string>;
  /** start a worker right away (default true) */
  worker?: boolean;
  /** also a Google sandbox with these users (one connection each), reached through a service account */
  google?: { users: string[]; sandbox?: GoogleSandboxOptions };
  /** also a Fireflies sandbox with one API key of this plan (default free: 50 requests a day), its owner ana@acme.test */
  fireflies?: { plan?: Plan; sandbox?: FirefliesSandboxOptions };
}

export async function harness(opts: HarnessOptions = {}): Promise<Harness> {
  quietRuntime();
  // Whatever is opened before a failure is closed again, so a failed set-up never keeps the test process alive.
  const opened: (() => Promise<unknown>)[] = [];
  try {
    return await buildHarness(opts, opened);
  } catch (err) {
    for (const close of opened.reverse()) await close().catch(() => undefined);
    throw err;
  }
}

async function buildHarness(opts: HarnessOptions, opened: (() => Promise<unknown>)[]): Promise<Harness> {
  const sandbox = await startHubSpotSandbox({ rateLimits: true, ...opts.sandbox });
  opened.push(() => sandbox.close());
  const database = await freshDatabase();
  opened.push(() => database.drop());
  const id = randomUUID().slice(0, 8);
  let google: GoogleSandbox | null = null;
  let credentialsDir: string | null = null;
  const googleEnv: Record<string, string> = {};
  if (opts.google) {
    const g = await startGoogleSandbox({ ...opts.google.sandbox, users: opts.google.users });
    google = g;
    opened.push(() => g.close());
    const dir = mkdtempSync(join(tmpdir(), 'aurora-google-'));
    credentialsDir = dir;
    opened.push(async () => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'google-credentials.json'), JSON.stringify(g.auth.serviceAccount()));
    Object.assign(googleEnv, {
      GOOGLE_CREDENTIALS_PATH: join(dir, 'google-credentials.json'),
      GOOGLE_USERS: opts.google.users.join(','),
      GOOGLE_API_ROOT_URL: g.url,
      GOOGLE_TOKEN_URL: g.tokenUrl,
    });
  }
  let fireflies: FirefliesSandbox | null = null;
  const firefliesEnv: Record<string, string> = {};
  if (opts.fireflies) {
    const key = `fireflies-key-${id}`; // its own budget and ledger in Redis
    const plan = opts.fireflies.plan ?? 'free';
    const f = await startFirefliesSandbox({ ...opts.fireflies.sandbox, keys: [{ key, plan, email: 'ana@acme.test' }, ...(opts.fireflies.sandbox?.keys ?? [])] });
    fireflies = f;
    opened.push(() => f.close());
    Object.assign(firefliesEnv, { FIREFLIES_API_KEY: key, FIREFLIES_API_URL: `${f.url}/graphql`, FIREFLIES_PLAN: plan });
  }
  const env: NodeJS.ProcessEnv = {
    ...baseEnv(),
    POSTGRES_DB: database.name,
    HUBSPOT_API_KEY: `sandbox-token-${id}`, // its own rate-limit budget in Redis
    HUBSPOT_BASE_URL: sandbox.url,
    HUBSPOT_SEARCH_LOOKBACK_MS: '2000',
    SYNC_INTERVAL: '3600',
    TEMPORAL_TASK_QUEUE: `test-${id}`,
    WORKFLOW_ID_PREFIX: `test-${id}:`,
    METRICS_PORT: '0',
    LOG_LEVEL: 'error',
    API_TOKEN: 'test-api-token',
    ...googleEnv,
    ...firefliesEnv,
    ...opts.env,
  };
  const cfg = loadConfig(env);
  const deps = createDeps(cfg);
  opened.push(() => deps.close());
  const connection = await Connection.connect({ address: cfg.temporal.address });
  opened.push(() => connection.close());
  const client = new Client({ connection, namespace: cfg.temporal.namespace, dataConverter: dataConverterFor(cfg.codec.keys) }); // the worker's codec too
  const h: Harness = {
    cfg,
    env,
    sandbox,
    google,
    fireflies,
    deps,
    db: deps.db,
    client,
    worker: null,
    async startWorker() {
      h.worker = await startWorker(cfg, { workflowBundle: await workflowBundle(), serveMetrics: false, ensureWorkflows: false, deps, relayIntervalMs: 200 });
      return h.worker;
    },
    async stopWorker() {
      await h.worker?.stop();
      h.worker = null;
    },
    async cycle(entityType) {
      return h.cycleOf({ system: 'hubspot' }, entityType);
    },
    async cycleOf(target, entityType) {
      await ensureSyncWorkflow(client, cfg, target, { runImmediately: false });
      const handle = client.workflow.getHandle(syncWorkflowId(target.system, cfg.temporal.workflowIdPrefix, target.connection));
      return handle.executeUpdate(syncNowUpdate, { args: [{ entityType }] });
    },
    async reconcile(target) {
      const id = reconcileScheduleId(target.system, cfg.temporal.workflowIdPrefix, target.connection ?? DEFAULT_CONNECTION);
      const action = desiredSchedules(cfg).find((s) => s.scheduleId === id)?.action;
      if (action?.type !== 'startWorkflow') throw new Error(`no reconciliation schedule ${id} in this configuration`);
      return client.workflow.execute('reconcileWorkflow', {
        taskQueue: cfg.temporal.taskQueue,
        workflowId: `${id}:test-${randomUUID().slice(0, 8)}`,
        args: action.args as [ReconcileWorkflowInput],
      });
    },
    async close() {
      // A test run closes what it started: every workflow of this harness (sync and conflict ones).
      await terminateAll(client, cfg.temporal.workflowIdPrefix);
      await h.stopWorker();
      await connection.close();
      await deps.close();
      await sandbox.close();
      await google?.close();
      await fireflies?.close();
      if (credentialsDir) rmSync(credentialsDir, { recursive: true, force: true });
      await database.drop();
    },
  };
  if (opts.worker ?? true) await h.startWorker();
  opened.length = 0; // from here on h.close() owns them
  return h;
}

/** Terminates every running workflow and deletes every schedule whose id starts with the prefix (a harness's own). */
export async function terminateAll(client: Client, prefix: string): Promise<number> {
  if (!prefix) return 0;
  let n = 0;
  for await (const s of client.schedule.list()) {
    if (s.scheduleId.startsWith(prefix)) await client.schedule.getHandle(s.scheduleId).delete().catch(() => undefined);
  }
  for await (const wf of client.workflow.list({ query: `WorkflowId STARTS_WITH "${prefix}" AND ExecutionStatus = "Running"` })) {
    await client.workflow.getHandle(wf.workflowId).terminate('test finished').catch(() => undefined);
    n++;
  }
  return n;
}

/** Harnesses for one test file, all closed when the file's tests are done. */
export function harnessPerTest(): (opts?: HarnessOptions) => Promise<Harness> {
  const open: Harness[] = [];
  after(async () => {
    for (const h of open.splice(0)) await h.close().catch(() => undefined);
  });
  return async (opts) => {
    const h = await harness(opts);
    open.push(h);
    return h;
  };
}

/** Collects every event published on aurora:sync:* while it runs. */
export async function subscribe(env: NodeJS.ProcessEnv = baseEnv()): Promise<{ events: { channel: string; event: Record<string, unknown> }[]; close(): Promise<void> }> {
  const sub = new Redis({ host: env.REDIS_HOST, port: Number(env.REDIS_PORT) });
  const events: { channel: string; event: Record<string, unknown> }[] = [];
  sub.on('pmessage', (_p, channel, message) => events.push({ channel, event: JSON.parse(message) as Record<string, unknown> }));
  await sub.psubscribe('aurora:sync:*');
  return { events, close: async () => void sub.disconnect() };
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

export async function count(db: Pool, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await db.query<{ n: string }>(sql, params);
  return Number(rows[0]!.n);
}

/**
 * The API on a random local port, with PUBLIC_BASE_URL pointed at it (push channels are opened to
 * it); `systems`: the systems it treats as configured. Close the app when done.
 */
export async function listeningApi(h: Harness, systems: string[]): Promise<{ app: FastifyInstance; url: string }> {
  const app = buildApi({ cfg: h.cfg, db: h.db, temporal: h.client, configuredSystems: new Set(systems) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  h.cfg.webhooks.publicBaseUrl = `http://127.0.0.1:${port}`;
  return { app, url: h.cfg.webhooks.publicBaseUrl };
}

/**
 * A registry row saying this local row is synced with an external record that does not exist
 * (what a reconciliation must find: a record gone without the feed saying so).
 */
export async function linkGhost(db: Pool, row: { id: string; version: number }, to: { system: string; connection: string; entityType: string; externalId: string }): Promise<void> {
  await db.query(
    `INSERT INTO sync_registry (local_id, external_id, external_system, connection, entity_type, local_version, external_version, sync_status, last_synced)
     VALUES ($1, $2, $3, $4, $5, $6, 1, 'synced', now())`,
    [row.id, to.externalId, to.system, to.connection, to.entityType, row.version],
  );
}
