/**
 * Per connection and entity type: the sync state operators read with psql (`sync_state`: cursor,
 * last pull/push/success/error, deletions held by the mass-delete guard), and the push channels.
 */
import type { Pool } from 'pg';
import type { ChangeCursor, PushChannel, StoredChannel } from '../connectors/types';

export interface StateKey {
  system: string;
  connection: string;
  entityType: string;
}

export async function saveState(db: Pool, k: StateKey, patch: { cursor?: ChangeCursor | null; pull?: boolean; push?: boolean; full?: boolean }): Promise<void> {
  await db.query(
    `INSERT INTO sync_state (external_system, connection, entity_type, cursor, last_pull_at, last_push_at, last_full_sync_at)
     VALUES ($1, $6, $2, $3::jsonb, CASE WHEN $4 THEN now() END, CASE WHEN $5 THEN now() END, CASE WHEN $7 THEN now() END)
     ON CONFLICT (external_system, connection, entity_type) DO UPDATE SET
       cursor = COALESCE(EXCLUDED.cursor, sync_state.cursor),
       last_pull_at = COALESCE(EXCLUDED.last_pull_at, sync_state.last_pull_at),
       last_push_at = COALESCE(EXCLUDED.last_push_at, sync_state.last_push_at),
       last_full_sync_at = COALESCE(EXCLUDED.last_full_sync_at, sync_state.last_full_sync_at)`,
    [k.system, k.entityType, patch.cursor === undefined ? null : JSON.stringify(patch.cursor), Boolean(patch.pull), Boolean(patch.push), k.connection, Boolean(patch.full)],
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

export async function recordOutcome(db: Pool, k: StateKey, error: string | null): Promise<void> {
  if (error) {
    await db.query(
      `INSERT INTO sync_state (external_system, connection, entity_type, last_error, last_error_at) VALUES ($1, $4, $2, $3, now())
       ON CONFLICT (external_system, connection, entity_type) DO UPDATE SET last_error = EXCLUDED.last_error, last_error_at = now()`,
      [k.system, k.entityType, error.slice(0, 2000), k.connection],
    );
  } else {
    await db.query(
      `INSERT INTO sync_state (external_system, connection, entity_type, last_success_at) VALUES ($1, $3, $2, now())
       ON CONFLICT (external_system, connection, entity_type) DO UPDATE SET last_success_at = now(),
         -- a held mass deletion stays an error until an operator confirms it
         last_error = CASE WHEN sync_state.pending_deletions IS NOT NULL THEN sync_state.last_error END`,
      [k.system, k.entityType, k.connection],
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

/** Pull-only types: how many local edits were not sent (shown in the status). */
export async function saveIgnoredEdits(db: Pool, k: StateKey, n: number): Promise<void> {
  await db.query(
    `INSERT INTO sync_state (external_system, connection, entity_type, ignored_local_edits) VALUES ($1, $2, $3, $4)
     ON CONFLICT (external_system, connection, entity_type) DO UPDATE SET ignored_local_edits = EXCLUDED.ignored_local_edits`,
    [k.system, k.connection, k.entityType, n],
  );
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
