/**
 * What the benchmarks share: a fresh database per run (dropped afterwards), the engine's activities
 * over it built as a worker builds them, a Google sandbox's service-account credentials, a peak-RSS
 * sampler, and the process exit.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { Pool } from 'pg';
import { activitySettings, createActivities, type Activities } from '../src/activities';
import { loadConfig, type Config } from '../src/config';
import { createConnectorPool, createRedis } from '../src/deps';
import { createMetrics } from '../src/metrics';
import type { GoogleSandbox } from '../src/sandbox/google';
import { createPool } from '../src/store/db';
import { migrate } from '../src/store/migrate';

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

/** The activities a worker runs, over `env` (migrations applied, Redis connected). */
export async function benchEngine(env: Record<string, string | undefined>, poolSize = 4): Promise<BenchEngine> {
  const cfg = loadConfig({ ...process.env, ...env });
  const pool = createPool(cfg.postgres, poolSize);
  await migrate(pool);
  const redis = createRedis(cfg.redis);
  await new Promise((r) => setTimeout(r, 100));
  const metrics = createMetrics();
  const acts = createActivities({ db: pool, redis, metrics, connectors: createConnectorPool(cfg, metrics, redis), settings: activitySettings(cfg) });
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
export function rssSampler(): { stop(): string } {
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 25);
  return {
    stop() {
      clearInterval(timer);
      return `${(peak / 1024 / 1024).toFixed(0)} MiB`;
    },
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
