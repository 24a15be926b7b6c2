/**
 * What the benchmarks share: a fresh database per run (dropped afterwards), the engine's activities
 * over it built as a worker builds them, a Google sandbox's service-account credentials, a peak-RSS
 * sampler, the process exit, and the figures: each benchmark emits its figures as JSON lines
 * (`emit`) that `bench/run.ts` collects into one table. The ingest bounds are here too: a plain
 * batched upsert of the same records, a plain write of the rows the engine keeps per record, and a
 * connector that replays recorded pages (the engine's ingest with the API out of the way).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { Pool } from 'pg';
import { activitySettings, createActivities, type Activities, type ConnectorPool } from '../src/activities';
import { loadConfig, type Config } from '../src/config';
import type { ChangePage, Connector } from '../src/connectors/types';
import type { Canonical, EntitySpec } from '../src/core/model';
import { createConnectorPool, createRedis } from '../src/deps';
import { createMetrics } from '../src/metrics';
import type { GoogleSandbox } from '../src/sandbox/google';
import { createPool } from '../src/store/db';
import { recordsetColumns, recordsetRow } from '../src/store/local';
import { migrate } from '../src/store/migrate';

/** One line of the benchmark table (and of bench/results/*.json). */
export interface Figure {
  /** e.g. `ingest`, `pull`, `api_calls`, `peak_rss`, `idle_api_calls` */
  figure: string;
  system: string;
  /** the records the figure was measured over (null: not a per-run size) */
  records: number | null;
  value: number;
  unit: string;
  /** the bound measured or derived in the same run (null: none) */
  bound: number | null;
  /** value against the bound, 1 = at the bound (higher is better; for costs it is bound / value) */
  ratio: number | null;
  /** what the bound is, in words */
  note?: string;
}

export const FIGURE_LINE = 'BENCH_FIGURE ';

/** Prints a figure as a JSON line for bench/run.ts (and readable enough on its own). */
export function emit(f: Omit<Figure, 'ratio'> & { ratio?: number | null }): Figure {
  const ratio = f.ratio !== undefined ? f.ratio : f.bound ? f.value / f.bound : null;
  const fig: Figure = { ...f, value: round(f.value), bound: f.bound === null ? null : round(f.bound), ratio: ratio === null ? null : Math.round(ratio * 100) / 100 };
  console.log(FIGURE_LINE + JSON.stringify(fig));
  return fig;
}

function round(n: number): number {
  return Math.abs(n) >= 100 ? Math.round(n) : Math.round(n * 100) / 100;
}

export interface BenchDatabase {
  name: string;
  drop(): Promise<void>;
}

/** A new, empty database on the configured Postgres. */
export async function benchDatabase(): Promise<BenchDatabase> {
  const admin = new Pool({ ...loadConfig().postgres, max: 1 });
  const name = `aurora_bench_${randomUUID().slice(0, 8)}`;
  await admin.query(`CREATE DATABASE ${name}`);
  return {
    name,
    async drop() {
      // WITH (FORCE) is refused when a session of another role (e.g. autovacuum) is in it: then a plain drop, a little later.
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(async () => {
        await new Promise((r) => setTimeout(r, 2000));
        await admin.query(`DROP DATABASE IF EXISTS ${name}`).catch((e: unknown) => console.log(`could not drop ${name}: ${String(e)}`));
      });
      await admin.end();
    },
  };
}

export interface BenchEngine {
  cfg: Config;
  pool: Pool;
  redis: Redis;
  acts: Activities;
  close(): Promise<void>;
}

/**
 * The activities a worker runs, over `env` (migrations applied, Redis connected). `connectors`
 * replaces the configured connector pool (a benchmark's own client), `wrap` wraps each connector.
 */
export async function benchEngine(
  env: Record<string, string | undefined>,
  poolSize = 4,
  opts: { connectors?: (cfg: Config, redis: Redis) => ConnectorPool; wrap?: (c: Connector) => Connector } = {},
): Promise<BenchEngine> {
  const cfg = loadConfig({ ...process.env, ...env });
  const pool = createPool(cfg.postgres, poolSize);
  await migrate(pool);
  const redis = createRedis(cfg.redis);
  await new Promise((r) => setTimeout(r, 100));
  const metrics = createMetrics();
  const base = opts.connectors ? opts.connectors(cfg, redis) : createConnectorPool(cfg, metrics, redis);
  const wrap = opts.wrap;
  const connectors: ConnectorPool = wrap ? { get: (s, c) => wrap(base.get(s, c)), configured: () => base.configured() } : base;
  const acts = createActivities({ db: pool, redis, metrics, connectors, settings: activitySettings(cfg) });
  return {
    cfg,
    pool,
    redis,
    acts,
    async close() {
      redis.disconnect();
      await pool.end();
    },
  };
}

/** The sandbox's service-account key in a temporary file, and the settings that point the engine at the sandbox. */
export function googleBenchEnv(sandbox: GoogleSandbox, users: string[]): { env: Record<string, string>; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'aurora-bench-'));
  writeFileSync(join(dir, 'google-credentials.json'), JSON.stringify(sandbox.auth.serviceAccount()));
  return {
    env: {
      GOOGLE_CREDENTIALS_PATH: join(dir, 'google-credentials.json'),
      GOOGLE_USERS: users.join(','),
      GOOGLE_API_ROOT_URL: sandbox.url,
      GOOGLE_TOKEN_URL: sandbox.tokenUrl,
      PUSH_CHANNELS: 'false',
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Samples this process's RSS every 25 ms. */
export function rssSampler(): { stop(): string; peakMiB(): number } {
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 25);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      return `${(peak / 1024 / 1024).toFixed(0)} MiB`;
    },
    peakMiB: () => Math.round(Math.max(peak, process.memoryUsage().rss) / 1024 / 1024),
  };
}

/** Runs a benchmark's main and exits 0, or 1 with the stack. */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err instanceof Error ? err.stack : String(err));
      process.exit(1);
    },
  );
}

/** The pages of a full listing through a connector (nothing written), and how long it took. */
export async function recordListing(connector: Connector, entityType: string): Promise<{ pages: ChangePage[]; seconds: number; records: number }> {
  const t0 = performance.now();
  const pages: ChangePage[] = [];
  for await (const page of connector.listChanges(entityType, null, false)) pages.push(page);
  return { pages, seconds: (performance.now() - t0) / 1000, records: pages.reduce((n, p) => n + p.records.length, 0) };
}

/**
 * The connector, except that a full listing replays recorded pages from memory: the engine's
 * ingest (decisions, rows, registry, joins, events, cursor) with the API taking no time.
 */
export function replaying(connector: Connector, entityType: string, pages: ChangePage[]): Connector {
  const copy = (p: ChangePage): ChangePage => ({ ...p, records: p.records.map((r) => ({ ...r, fields: { ...r.fields } })) });
  return new Proxy(connector, {
    get(target, prop, receiver) {
      if (prop === 'listChanges') {
        return (type: string, cursor: unknown, resume: boolean) =>
          type === entityType && cursor === null ? (async function* () { for (const p of pages) yield copy(p); })() : target.listChanges(type, cursor as never, resume);
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** Mean of the middle values (drops the fastest and slowest of three or more). */
export function central(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >= 3 ? s.slice(1, -1) : s;
  return mid.reduce((a, b) => a + b, 0) / mid.length;
}

/**
 * The issue's bound for ingest: the same records (their canonical fields, as the engine would
 * store them) upserted into a plain table of the same columns — primary key only, no triggers —
 * in batches of `batch`, one statement and one commit each. Records per second.
 */
export async function plainUpsert(pool: Pool, spec: EntitySpec, records: { id: string; fields: Canonical }[], batch: number): Promise<number> {
  const table = `plain_${spec.table}_${randomUUID().slice(0, 6)}`;
  const cols = recordsetColumns(spec);
  const names = cols.split(', ').map((c) => c.split(' ')[0]!);
  await pool.query(`CREATE TABLE ${table} (${cols.replace(/^id text/, 'id text PRIMARY KEY')})`);
  const rows = records.map((r) => recordsetRow(spec, r.id, r.fields, 'bench'));
  const t0 = performance.now();
  for (let i = 0; i < rows.length; i += batch) {
    await pool.query(
      `INSERT INTO ${table} SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(${cols})
       ON CONFLICT (id) DO UPDATE SET ${names.slice(1).map((n) => `${n} = EXCLUDED.${n}`).join(', ')}`,
      [JSON.stringify(rows.slice(i, i + batch))],
    );
  }
  const rate = records.length / ((performance.now() - t0) / 1000);
  await pool.query(`DROP TABLE ${table}`);
  return rate;
}

/**
 * A second bound: the rows the engine keeps per record — the local row (in the real table, with
 * its indexes and triggers), its registry entry (hash and snapshot) and its outbox event — written
 * by plain multi-row inserts, one transaction per page, with no reads and no decisions. What any
 * writer of the same rows pays; the engine's ratio to it is its own overhead. Records per second.
 * Uses (and leaves behind) the rows in `pool`'s database: run it on a fresh one.
 */
export async function plainOwnRows(pool: Pool, spec: EntitySpec, connection: string, system: string, pages: { id: string; externalId: string; fields: Canonical }[][]): Promise<number> {
  const cols = recordsetColumns(spec);
  const names = cols.split(', ').map((c) => c.split(' ')[0]!);
  const t0 = performance.now();
  let n = 0;
  for (const page of pages) {
    if (!page.length) continue;
    n += page.length;
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      const { rows } = await c.query<{ id: string; version: number; updated_at: Date }>(
        `INSERT INTO ${spec.table} (${names.join(', ')}) SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(${cols})
         ON CONFLICT (id) DO UPDATE SET ${names.slice(1).map((f) => `${f} = EXCLUDED.${f}`).join(', ')} RETURNING id, version, updated_at`,
        [JSON.stringify(page.map((r) => recordsetRow(spec, r.id, r.fields, connection)))],
      );
      const byId = new Map(rows.map((r) => [r.id, r]));
      const now = new Date().toISOString();
      await c.query(
        `INSERT INTO sync_registry (local_id, external_id, external_system, entity_type, connection, last_synced, local_version, external_version,
            sync_status, synced_hash, synced_snapshot, external_updated_at, local_updated_at)
         SELECT x.local_id, x.external_id, $2, $3, $4, now(), x.local_version, 1, 'synced', x.hash, x.snapshot, x.at, x.local_at
           FROM jsonb_to_recordset($1::jsonb) AS x(local_id text, external_id text, local_version int, hash text, snapshot jsonb, at timestamptz, local_at timestamptz)
         ON CONFLICT (local_id, external_system, entity_type) DO UPDATE SET local_version = EXCLUDED.local_version, synced_snapshot = EXCLUDED.synced_snapshot`,
        [JSON.stringify(page.map((r) => ({ local_id: r.id, external_id: r.externalId, local_version: byId.get(r.id)!.version, hash: r.id, snapshot: r.fields, at: now, local_at: byId.get(r.id)!.updated_at }))), system, spec.type, connection],
      );
      await c.query(
        `INSERT INTO sync_outbox (channel, payload) SELECT $2, e FROM jsonb_array_elements($1::jsonb) AS e`,
        [JSON.stringify(page.map((r) => ({ action: 'created', source: system, entity_type: spec.type, entity_id: r.id, timestamp: now, direction: 'pull', external_id: r.externalId, local_version: byId.get(r.id)!.version, external_version: 1 }))), `aurora:sync:${spec.type}`],
      );
      await c.query('COMMIT');
    } finally {
      c.release();
    }
  }
  return n / ((performance.now() - t0) / 1000);
}

/**
 * The HubSpot sandbox in its own process (so a benchmark's figures are its own process's alone),
 * with these command-line arguments (e.g. --no-rate-limits, --seed-contacts N).
 */
export async function startSandboxProcess(args: string[]): Promise<{ url: string; close(): Promise<void> }> {
  const argv = ['--import', 'tsx', join(__dirname, '..', 'src', 'sandbox', 'hubspot', 'main.ts'), '--port', '0', ...args];
  const child: ChildProcess = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`sandbox exited (${code})`)));
  });
  return {
    url,
    close: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}
