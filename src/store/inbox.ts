/**
 * The webhook inbox (migrations 010, 011): work accepted from verified deliveries, until Temporal
 * took it; one row per delivery and connection. And the holds a sync workflow puts on its signals
 * while its run closes (see `holdSignals`).
 */
import type { Pool, PoolClient } from 'pg';
import type { WebhookWork } from '../connectors/types';
import { DEFAULT_CONNECTION } from '../core/model';

export interface InboxRow {
  id: string;
  system: string;
  /** the one connection all of `work` names; null for a row from before migration 011 */
  connection: string | null;
  work: WebhookWork[];
}

/** The key of a workflow's rows in `claimInbox`'s `skip` (system names hold no '/'). */
export const inboxKey = (system: string, connection: string): string => `${system}/${connection}`;

/** Keeps one delivery's work, one row per connection it names, in one statement; resolves once committed. */
export async function enqueueWork(db: Pool, system: string, work: readonly WebhookWork[]): Promise<void> {
  if (!work.length) return;
  const byConnection = new Map<string, WebhookWork[]>();
  for (const w of work) {
    const c = w.connection ?? DEFAULT_CONNECTION;
    (byConnection.get(c) ?? byConnection.set(c, []).get(c)!).push(w);
  }
  await db.query(
    `INSERT INTO webhook_inbox (system, connection, work)
     SELECT $1, c, w FROM unnest($2::text[], $3::jsonb[]) WITH ORDINALITY AS x(c, w, n) ORDER BY n`,
    [system, [...byConnection.keys()], [...byConnection.values()].map((ws) => JSON.stringify(ws))],
  );
}

/**
 * The oldest rows no other forwarder holds, locked for this transaction, except those of the
 * workflows in `skip` (inboxKey; backing off after a failed signal) and of workflows holding
 * their signals.
 */
export async function claimInbox(c: PoolClient, limit: number, skip: readonly string[] = []): Promise<InboxRow[]> {
  const { rows } = await c.query<InboxRow>(
    `SELECT i.id::text, i.system, i.connection, i.work FROM webhook_inbox i
      WHERE i.connection IS NULL
         OR (NOT (i.system || '/' || i.connection = ANY($2::text[]))
             AND NOT EXISTS (SELECT 1 FROM webhook_hold h WHERE h.system = i.system AND h.connection = i.connection AND h.until > now()))
      ORDER BY i.id LIMIT $1 FOR UPDATE OF i SKIP LOCKED`,
    [limit, skip],
  );
  return rows;
}

/** Whether rows wait for a workflow holding its signals (the forwarder looks again soon). */
export async function heldRowsWaiting(db: Pool | PoolClient): Promise<boolean> {
  const { rows } = await db.query(
    `SELECT 1 FROM webhook_hold h WHERE h.until > now()
        AND EXISTS (SELECT 1 FROM webhook_inbox i WHERE i.system = h.system AND i.connection = h.connection) LIMIT 1`,
  );
  return rows.length > 0;
}

export async function settleInbox(c: PoolClient, done: readonly string[], failed: readonly string[], error?: string): Promise<void> {
  if (done.length) await c.query('DELETE FROM webhook_inbox WHERE id = ANY($1::bigint[])', [done]);
  if (failed.length) await c.query('UPDATE webhook_inbox SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1::bigint[])', [failed, error ?? null]);
}

/**
 * Holds a workflow's webhook signals for up to `seconds`: its rows stay in the inbox. Resolves once
 * no round is sending any of them either: a round locks the rows it signals until it has deleted
 * them, so after waiting for those locks every signal the inbox sent this workflow is in its history.
 */
export async function holdSignals(db: Pool, system: string, connection: string, seconds: number): Promise<void> {
  await db.query(
    `INSERT INTO webhook_hold (system, connection, until) VALUES ($1, $2, now() + make_interval(secs => $3))
     ON CONFLICT (system, connection) DO UPDATE SET until = EXCLUDED.until`,
    [system, connection, seconds],
  );
  // One statement (its own transaction): waits for the rounds on their way, then lets go.
  await db.query('SELECT id FROM webhook_inbox WHERE system = $1 AND connection = $2 FOR UPDATE', [system, connection]);
}

/** Ends a hold (its rows go out with the forwarder's next look). */
export async function releaseSignals(db: Pool, system: string, connection: string): Promise<void> {
  await db.query('DELETE FROM webhook_hold WHERE system = $1 AND connection = $2', [system, connection]);
}

/** Rows waiting and the age of the oldest, seconds (for the status and the metrics). */
export async function inboxBacklog(db: Pool): Promise<{ rows: number; oldestSeconds: number }> {
  const { rows } = await db.query<{ n: string; age: number | null }>('SELECT count(*) AS n, extract(epoch FROM now() - min(received_at))::float8 AS age FROM webhook_inbox');
  return { rows: Number(rows[0]?.n ?? 0), oldestSeconds: rows[0]?.age ?? 0 };
}
