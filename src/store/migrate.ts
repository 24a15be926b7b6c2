/**
 * Applies the ordered SQL files in src/store/migrations once each, recording them in
 * schema_migrations. Re-runnable: applied files are skipped; each file runs in its own transaction.
 * Usage: tsx src/store/migrate.ts
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { loadConfigOrExit } from '../config';
import { createPool, withTx } from './db';

const MIGRATIONS_DIR = join(__dirname, 'migrations');

export async function migrate(pool: Pool): Promise<string[]> {
  const applied: string[] = [];
  // Serialise concurrent runners (worker + API starting together).
  await withTx(pool, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock(804211)');
    await c.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT NOW())`);
    const done = new Set((await c.query<{ name: string }>('SELECT name FROM schema_migrations')).rows.map((r) => r.name));
    for (const file of readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).sort()) {
      if (done.has(file)) continue;
      await c.query(readFileSync(join(MIGRATIONS_DIR, file), 'utf8'));
      await c.query('INSERT INTO schema_migrations (name) VALUES ($1)', [file]);
      applied.push(file);
    }
  });
  return applied;
}

if (require.main === module) {
  const cfg = loadConfigOrExit();
  const pool = createPool(cfg.postgres, 1);
  migrate(pool)
    .then((applied) => {
      console.log(applied.length ? `migrations applied: ${applied.join(', ')}` : 'migrations: up to date');
    })
    .catch((err) => {
      console.error(`migration failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    })
    .finally(() => pool.end());
}
