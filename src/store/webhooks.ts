/** Webhook deliveries already accepted, by the system's own event id: a replay is a no-op. */
import type { Pool } from 'pg';

/** Records these event ids; returns the ones not seen before. */
export async function freshEventIds(db: Pool, system: string, eventIds: string[]): Promise<Set<string>> {
  if (!eventIds.length) return new Set();
  const { rows } = await db.query<{ event_id: string }>(
    `INSERT INTO webhook_events (system, event_id) SELECT $1, unnest($2::text[])
     ON CONFLICT DO NOTHING RETURNING event_id`,
    [system, eventIds],
  );
  return new Set(rows.map((r) => r.event_id));
}

/**
 * Forgets event ids recorded by a delivery whose work could not be handed on (Temporal unreachable):
 * the sender's retry is then fresh again instead of a duplicate that waits for the next poll.
 */
export async function forgetEventIds(db: Pool, system: string, eventIds: readonly string[]): Promise<void> {
  if (!eventIds.length) return;
  await db.query('DELETE FROM webhook_events WHERE system = $1 AND event_id = ANY($2::text[])', [system, [...eventIds]]);
}

/** Forgets event ids older than senders retry (HubSpot: 24 h); keeps the table small. */
export async function pruneEventIds(db: Pool, olderThanDays = 3): Promise<void> {
  await db.query("DELETE FROM webhook_events WHERE received_at < now() - make_interval(days => $1)", [olderThanDays]);
}
