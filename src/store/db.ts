import { Pool, type PoolClient } from 'pg';
import type { Config } from '../config';

export type Db = Pool;

export function createPool(cfg: Config['postgres'], max = 10): Pool {
  const pool = new Pool({
    host: cfg.host,
    port: cfg.port,
    database: cfg.database,
    user: cfg.user,
    password: cfg.password,
    max,
    application_name: 'aurora-sync',
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  return pool;
}

/**
 * Runs fn in one transaction; rolls back on any error. `begin`: the statements that open it (e.g.
 * `BEGIN; SET LOCAL …`, sent in one round trip).
 */
export async function withTx<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query(begin);
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
