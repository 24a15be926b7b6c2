/**
 * Applies the ordered SQL files of src/store/migrations, then each connector's own migrations
 * (in registry order, files in name order), once each, recording them in schema_migrations
 * (connector files as `<system>/<file>`). Re-runnable: applied files are skipped.
 * Usage: tsx src/store/migrate.ts
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { loadConfigOrExit } from '../config';
import { CONNECTORS } from '../connectors/registry';
import { checkServices, describeServiceError } from '../core/preflight';
import { createPool, withTx } from './db';

const MIGRATIONS_DIR = join(__dirname, 'migrations');

/** Every migration in the order it applies: [recorded name, path]. */
export function migrationFiles(): [string, string][] {
  const sql = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
  const files: [string, string][] = sql(MIGRATIONS_DIR).map((f) => [f, join(MIGRATIONS_DIR, f)]);
  for (const def of CONNECTORS) {
    if (def.migrationsDir && existsSync(def.migrationsDir)) {
      for (const f of sql(def.migrationsDir)) files.push([`${def.system}/${f}`, join(def.migrationsDir, f)]);
    }
  }
  return files;
}

export async function migrate(pool: Pool): Promise<string[]> {
  const applied: string[] = [];
  // Serialise concurrent runners (worker + API starting together).
  await withTx(pool, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock(804211)');
    await c.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT NOW())`);
    const done = new Set((await c.query<{ name: string }>('SELECT name FROM schema_migrations')).rows.map((r) => r.name));
    for (const [name, path] of migrationFiles()) {
      if (done.has(name)) continue;
      await c.query(readFileSync(path, 'utf8'));
      await c.query('INSERT INTO schema_migrations (name) VALUES ($1)', [name]);
      applied.push(name);
    }
  });
  return applied;
}

if (require.main === module) {
  const cfg = loadConfigOrExit();
  const pool = createPool(cfg.postgres, 1);
  checkServices(cfg, ['postgres'])
    .then(() => migrate(pool))
    .then((applied) => {
      console.log(applied.length ? `migrations applied: ${applied.join(', ')}` : 'migrations: up to date');
    })
    .catch((err) => {
      console.error(describeServiceError(err, cfg) ?? `migration failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    })
    .finally(() => pool.end());
}
