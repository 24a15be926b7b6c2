/** The webhook inbox (migration 010): work accepted from verified deliveries, until Temporal took it. */
import type { Pool, PoolClient } from 'pg';
import type { WebhookWork } from '../connectors/types';

export interface InboxRow {
  id: string;
  system: string;
  work: WebhookWork[];
}

/** Keeps one delivery's work (one row); resolves once it is committed. */
export async function enqueueWork(db: Pool, system: string, work: readonly WebhookWork[]): Promise<void> {
  if (!work.length) return;
  await db.query('INSERT INTO webhook_inbox (system, work) VALUES ($1, $2::jsonb)', [system, JSON.stringify(work)]);
}

/** The oldest rows no other forwarder holds, locked for this transaction. */
export async function claimInbox(c: PoolClient, limit: number): Promise<InboxRow[]> {
  const { rows } = await c.query<InboxRow>('SELECT id::text, system, work FROM webhook_inbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED', [limit]);
  return rows;
}

export async function settleInbox(c: PoolClient, done: readonly string[], failed: readonly string[], error?: string): Promise<void> {
  if (done.length) await c.query('DELETE FROM webhook_inbox WHERE id = ANY($1::bigint[])', [done]);
  if (failed.length) await c.query('UPDATE webhook_inbox SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1::bigint[])', [failed, error ?? null]);
}

/** Rows waiting and the age of the oldest, seconds (for the status and the metrics). */
export async function inboxBacklog(db: Pool): Promise<{ rows: number; oldestSeconds: number }> {
  const { rows } = await db.query<{ n: string; age: number | null }>('SELECT count(*) AS n, extract(epoch FROM now() - min(received_at))::float8 AS age FROM webhook_inbox');
  return { rows: Number(rows[0]?.n ?? 0), oldestSeconds: rows[0]?.age ?? 0 };
}
