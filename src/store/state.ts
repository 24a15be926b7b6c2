/**
 * Per connection and entity type: the sync state operators read with psql (`sync_state`: cursor,
 * last pull/push/success/error, deletions held by the mass-delete guard), and the push channels.
 *
 * Written only on change, so a quiet cycle writes nothing (issue 12): the cursor when its content
 * differs from the stored one; `last_pull_at` when a pull applied something or moved the cursor;
 * `last_push_at` when a push sent something; `last_success_at` when a type succeeds for the first
 * time, after an error, or after a pull or push that changed something; `last_error` (and
 * `last_error_at`: since when) when the error text changes. So these columns say when the state
 * last changed; when the last cycle ran and last succeeded (quiet ones included) is the sync
 * workflow's status query (`lastCycleAt`, `lastSuccessAt`), which the operator status shows as
 * `last_cycle_at` / `last_success_at`.
 */
import type { Pool } from 'pg';
import type { ChangeCursor, PushChannel, StoredChannel } from '../connectors/types';

export interface StateKey {
  system: string;
  connection: string;
  entityType: string;
}

/**
 * Changes a type's sync_state row only where `changed` (SQL over the stored row `s` and $4…) holds:
 * nothing is written otherwise — no new row version, no row lock, no transaction id (an
 * INSERT … ON CONFLICT DO UPDATE … WHERE would still lock the row). A missing row is inserted
 * with `insert` (column → SQL) when `insertWhen` holds.
 */
async function patchState(
  db: Pool,
  k: StateKey,
  p: { set: string; changed: string; insert: Record<string, string>; insertWhen?: string },
  params: unknown[],
): Promise<void> {
  const key = 's.external_system = $1 AND s.connection = $2 AND s.entity_type = $3';
  const cols = Object.keys(p.insert);
  await db.query(
    `WITH cur AS (SELECT 1 FROM sync_state s WHERE ${key}),
     upd AS (UPDATE sync_state s SET ${p.set} WHERE ${key} AND (${p.changed}) RETURNING 1)
     INSERT INTO sync_state AS s (external_system, connection, entity_type, ${cols.join(', ')})
     SELECT $1, $2, $3, ${cols.map((c) => p.insert[c]).join(', ')} WHERE NOT EXISTS (SELECT 1 FROM cur) AND (${p.insertWhen ?? 'TRUE'})
     ON CONFLICT (external_system, connection, entity_type) DO UPDATE SET ${p.set} WHERE ${p.changed}`,
    [k.system, k.connection, k.entityType, ...params],
  );
}

/**
 * A pull's or push's bookkeeping: `cursor` (null/absent: keep the stored one) is written when it
 * differs from the stored one; `pull`/`push`: that pull or push changed something (its time is
 * kept); `full`: a full listing ran.
 */
export async function saveState(db: Pool, k: StateKey, patch: { cursor?: ChangeCursor | null; pull?: boolean; push?: boolean; full?: boolean }): Promise<void> {
  const moved = '($4::jsonb IS NOT NULL AND s.cursor IS DISTINCT FROM $4::jsonb)';
  await patchState(
    db,
    k,
    {
      set: `cursor = COALESCE($4::jsonb, s.cursor),
        last_pull_at = CASE WHEN $5 OR ${moved} THEN now() ELSE s.last_pull_at END,
        last_push_at = CASE WHEN $6 THEN now() ELSE s.last_push_at END,
        last_full_sync_at = CASE WHEN $7 THEN now() ELSE s.last_full_sync_at END`,
      changed: `$5 OR $6 OR $7 OR ${moved}`,
      insert: {
        cursor: '$4::jsonb',
        last_pull_at: 'CASE WHEN $5 OR $4::jsonb IS NOT NULL THEN now() END',
        last_push_at: 'CASE WHEN $6 THEN now() END',
        last_full_sync_at: 'CASE WHEN $7 THEN now() END',
      },
      insertWhen: '$4::jsonb IS NOT NULL OR $5 OR $6 OR $7',
    },
    [patch.cursor == null ? null : JSON.stringify(patch.cursor), Boolean(patch.pull), Boolean(patch.push), Boolean(patch.full)],
  );
}

/** A reconciliation's result, per entity type (what the status shows as last_reconciled). */
export async function recordReconciliation(
  db: Pool,
  summary: { system: string; connection: string; finishedAt: string; entities: Record<string, Record<string, unknown>> },
): Promise<void> {
  for (const [entityType, result] of Object.entries(summary.entities)) {
    await db.query(
      `INSERT INTO sync_state (external_system, connection, entity_type, last_reconciled_at, last_reconcile) VALUES ($1, $2, $3, $4, $5::jsonb)
       ON CONFLICT (external_system, connection, entity_type) DO UPDATE SET last_reconciled_at = EXCLUDED.last_reconciled_at, last_reconcile = EXCLUDED.last_reconcile`,
      [summary.system, summary.connection, entityType, summary.finishedAt, JSON.stringify(result)],
    );
  }
}

/** The cursor mirrored in Postgres (a brand-new workflow continues from it). */
export async function loadCursor(db: Pool, k: StateKey): Promise<ChangeCursor | null> {
  const { rows } = await db.query<{ cursor: ChangeCursor | null }>(
    'SELECT cursor FROM sync_state WHERE external_system = $1 AND connection = $2 AND entity_type = $3',
    [k.system, k.connection, k.entityType],
  );
  return rows[0]?.cursor ?? null;
}

/** Forgets the cursor: the next pull is a full listing (after a cursor expired). */
export async function clearCursor(db: Pool, k: StateKey): Promise<void> {
  await db.query('UPDATE sync_state SET cursor = NULL WHERE external_system = $1 AND connection = $2 AND entity_type = $3', [k.system, k.connection, k.entityType]);
}

/**
 * An entity type's outcome in a cycle. An error is written when its text changes (`last_error_at`:
 * since when it is reported); a success when it is the first, ends an error, or follows a pull or
 * push that changed something since the last recorded success.
 */
export async function recordOutcome(db: Pool, k: StateKey, error: string | null): Promise<void> {
  if (error) {
    await patchState(
      db,
      k,
      { set: 'last_error = $4, last_error_at = now()', changed: 's.last_error IS DISTINCT FROM $4', insert: { last_error: '$4', last_error_at: 'now()' } },
      [error.slice(0, 2000)],
    );
  } else {
    await patchState(
      db,
      k,
      {
        // a held mass deletion stays an error until an operator confirms it
        set: 'last_success_at = now(), last_error = CASE WHEN s.pending_deletions IS NOT NULL THEN s.last_error END',
        changed: `s.last_success_at IS NULL OR (s.last_error IS NOT NULL AND s.pending_deletions IS NULL)
          OR GREATEST(s.last_pull_at, s.last_push_at, s.last_full_sync_at, s.last_error_at) > s.last_success_at`,
        insert: { last_success_at: 'now()' },
      },
      [],
    );
  }
}

// ------------------------------------------------------------------ mass-delete guard

export interface PendingDeletions {
  external_ids: string[];
  total: number;
  detected_at: string;
  reason: string;
}

/** Holds back deletions a full listing found (too many at once); the type reports an error naming the fix. */
export async function holdDeletions(db: Pool, k: StateKey, pending: PendingDeletions): Promise<void> {
  await db.query(
    `INSERT INTO sync_state (external_system, connection, entity_type, pending_deletions, deletions_confirmed_at, last_error, last_error_at)
     VALUES ($1, $2, $3, $4::jsonb, NULL, $5, now())
     ON CONFLICT (external_system, connection, entity_type) DO UPDATE SET pending_deletions = EXCLUDED.pending_deletions,
       deletions_confirmed_at = NULL, last_error = EXCLUDED.last_error, last_error_at = now()`,
    [k.system, k.connection, k.entityType, JSON.stringify(pending), pending.reason],
  );
}

/** Held deletions an operator confirmed (CLI `deletions confirm`), or null. */
export async function confirmedDeletions(db: Pool, k: StateKey): Promise<PendingDeletions | null> {
  const { rows } = await db.query<{ pending_deletions: PendingDeletions | null }>(
    `SELECT pending_deletions FROM sync_state WHERE external_system = $1 AND connection = $2 AND entity_type = $3
       AND pending_deletions IS NOT NULL AND deletions_confirmed_at IS NOT NULL`,
    [k.system, k.connection, k.entityType],
  );
  return rows[0]?.pending_deletions ?? null;
}

export async function clearHeldDeletions(db: Pool, k: StateKey): Promise<void> {
  await db.query(
    `UPDATE sync_state SET pending_deletions = NULL, deletions_confirmed_at = NULL, last_error = NULL
     WHERE external_system = $1 AND connection = $2 AND entity_type = $3`,
    [k.system, k.connection, k.entityType],
  );
}

export interface HeldDeletions extends StateKey {
  count: number;
  total: number;
  detectedAt: string;
  confirmed: boolean;
}

export async function listHeldDeletions(db: Pool): Promise<HeldDeletions[]> {
  const { rows } = await db.query<{ external_system: string; connection: string; entity_type: string; pending_deletions: PendingDeletions; deletions_confirmed_at: Date | null }>(
    'SELECT external_system, connection, entity_type, pending_deletions, deletions_confirmed_at FROM sync_state WHERE pending_deletions IS NOT NULL ORDER BY 1, 2, 3',
  );
  return rows.map((r) => ({
    system: r.external_system, connection: r.connection, entityType: r.entity_type, count: r.pending_deletions.external_ids.length,
    total: r.pending_deletions.total, detectedAt: r.pending_deletions.detected_at, confirmed: r.deletions_confirmed_at !== null,
  }));
}

/** An operator confirms held deletions; they are applied by the next pull of that type. False: none held. */
export async function confirmHeldDeletions(db: Pool, k: StateKey): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE sync_state SET deletions_confirmed_at = now()
     WHERE external_system = $1 AND connection = $2 AND entity_type = $3 AND pending_deletions IS NOT NULL`,
    [k.system, k.connection, k.entityType],
  );
  return (rowCount ?? 0) > 0;
}

// ------------------------------------------------------------------ push channels

interface ChannelRow {
  channel_id: string;
  external_system: string;
  connection: string;
  entity_type: string;
  resource: string;
  resource_id: string;
  token_hash: string;
  expires_at: Date;
  stopped_at: Date | null;
}
const toChannel = (r: ChannelRow): StoredChannel => ({
  channelId: r.channel_id, system: r.external_system, connection: r.connection, entityType: r.entity_type, resource: r.resource,
  resourceId: r.resource_id, tokenHash: r.token_hash, expiresAt: r.expires_at.toISOString(), stopped: r.stopped_at !== null,
});

export async function findChannel(db: Pool, channelId: string): Promise<StoredChannel | null> {
  const { rows } = await db.query<ChannelRow>('SELECT * FROM sync_channels WHERE channel_id = $1', [channelId]);
  return rows[0] ? toChannel(rows[0]) : null;
}

export async function liveChannels(db: Pool, k: StateKey): Promise<StoredChannel[]> {
  const { rows } = await db.query<ChannelRow>(
    'SELECT * FROM sync_channels WHERE external_system = $1 AND connection = $2 AND entity_type = $3 AND stopped_at IS NULL ORDER BY created_at',
    [k.system, k.connection, k.entityType],
  );
  return rows.map(toChannel);
}

export async function saveChannel(db: Pool, k: StateKey, ch: PushChannel, tokenHash: string): Promise<void> {
  await db.query(
    `INSERT INTO sync_channels (channel_id, external_system, connection, entity_type, resource, resource_id, token_hash, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [ch.channelId, k.system, k.connection, k.entityType, ch.resource, ch.resourceId, tokenHash, ch.expiresAt],
  );
}

export async function markChannelStopped(db: Pool, channelId: string): Promise<void> {
  await db.query('UPDATE sync_channels SET stopped_at = COALESCE(stopped_at, now()) WHERE channel_id = $1', [channelId]);
}

export async function touchChannel(db: Pool, channelId: string): Promise<void> {
  await db.query('UPDATE sync_channels SET last_message_at = now() WHERE channel_id = $1', [channelId]);
}

/** Pull-only types: how many local edits were not sent (shown in the status); written when it changes. */
export async function saveIgnoredEdits(db: Pool, k: StateKey, n: number): Promise<void> {
  await patchState(db, k, { set: 'ignored_local_edits = $4', changed: 's.ignored_local_edits IS DISTINCT FROM $4', insert: { ignored_local_edits: '$4' } }, [n]);
}

/** Conflicts whose workflow was never started (a crash between detecting and starting). */
export async function unstartedConflicts(db: Pool, k: StateKey): Promise<string[]> {
  const { rows } = await db.query<{ local_id: string }>(
    `SELECT local_id FROM sync_registry WHERE external_system = $1 AND connection = $2 AND entity_type = $3
       AND sync_status = 'conflict' AND NOT conflict_started`,
    [k.system, k.connection, k.entityType],
  );
  return rows.map((r) => r.local_id);
}

/** Marks conflicts whose workflow now exists. */
export async function markConflictStarted(db: Pool, system: string, entityType: string, localId: string): Promise<void> {
  await db.query(
    `UPDATE sync_registry SET conflict_started = TRUE
     WHERE external_system = $1 AND entity_type = $2 AND local_id = $3 AND sync_status = 'conflict'`,
    [system, entityType, localId],
  );
}
