/** The webhook inbox (migration 010): work accepted from verified deliveries, until Temporal took it. */
import type { Pool } from 'pg';
import type { WebhookWork } from '../connectors/types';

export interface InboxRow {
  id: string;
  system: string;
  connection: string;
  work: WebhookWork[];
}

/** How long a forwarder holds rows it is signalling (another takes them over after that). */
const CLAIM_SECONDS = 60;

/** Keeps one delivery's work (one row per connection it names); resolves once it is committed. */
export async function enqueueWork(db: Pool, system: string, work: readonly WebhookWork[]): Promise<void> {
  const byConnection = new Map<string, WebhookWork[]>();
  for (const w of work) (byConnection.get(w.connection) ?? byConnection.set(w.connection, []).get(w.connection)!).push(w);
  if (!byConnection.size) return;
  await db.query(
    `INSERT INTO webhook_inbox (system, connection, work) SELECT $1, c, w FROM unnest($2::text[], $3::jsonb[]) AS x(c, w)`,
    [system, [...byConnection.keys()], [...byConnection.values()].map((w) => JSON.stringify(w))],
  );
}

/**
 * Claims the oldest rows not held by a forwarder, except those of the workflows (`system\nconnection`)
 * given: their signal is on its way or waits for a retry.
 */
export async function claimInbox(db: Pool, limit: number, except: readonly string[]): Promise<InboxRow[]> {
  const { rows } = await db.query<InboxRow>(
    `UPDATE webhook_inbox SET claimed_until = now() + make_interval(secs => $3)
      WHERE id IN (SELECT id FROM webhook_inbox
                    WHERE (claimed_until IS NULL OR claimed_until < now()) AND NOT (system || E'\\n' || connection = ANY($2::text[]))
                    ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
      RETURNING id::text, system, connection, work`,
    [limit, except, CLAIM_SECONDS],
  );
  return rows.sort((a, b) => Number(a.id) - Number(b.id));
}

/** Rows Temporal accepted: gone. */
export async function forgetInbox(db: Pool, ids: readonly string[]): Promise<void> {
  if (ids.length) await db.query('DELETE FROM webhook_inbox WHERE id = ANY($1::bigint[])', [ids]);
}

/** Rows whose signal failed: released for a retry, with the attempt and its error. */
export async function releaseInbox(db: Pool, ids: readonly string[], error: string): Promise<void> {
  if (ids.length) await db.query('UPDATE webhook_inbox SET claimed_until = NULL, attempts = attempts + 1, last_error = $2 WHERE id = ANY($1::bigint[])', [ids, error]);
}

/** Rows waiting and the age of the oldest, seconds (for the metrics). */
export async function inboxBacklog(db: Pool): Promise<{ rows: number; oldestSeconds: number }> {
  const { rows } = await db.query<{ n: string; age: number | null }>('SELECT count(*) AS n, extract(epoch FROM now() - min(received_at))::float8 AS age FROM webhook_inbox');
  return { rows: Number(rows[0]?.n ?? 0), oldestSeconds: rows[0]?.age ?? 0 };
}
