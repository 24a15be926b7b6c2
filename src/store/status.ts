/**
 * Sync status per system, entity type and connection, from the registry and sync_state (the API's
 * and CLI's view). Keyed by the entity types' plural names, as the design's status response is.
 */
import type { Pool } from 'pg';
import type { ConnectorDefinition } from '../connectors/types';
import { DEFAULT_CONNECTION } from '../core/model';

export interface EntitySyncStatus {
  last_synced: string | null;
  records: number;
  status: 'synced' | 'pending' | 'conflict' | 'error' | 'never';
  by_status: Record<string, number>;
  last_error: string | null;
  direction: 'two-way' | 'pull-only';
  /** pull-only types: local edits that were not sent (the external side stays the truth) */
  local_edits_not_pushed?: number;
  /** deletions held back by the mass-delete guard until an operator confirms them */
  held_deletions?: number;
  /** the request budget is spent: the change feed stopped early and goes on then (its cursor's `deferredUntil`) */
  deferred_until?: string;
  /** the last scheduled reconciliation (full listing against the registry) and what it repaired */
  last_reconciled?: { at: string; checked: number; created: number; updated: number; deleted: number; held_deletions: number; error: string | null };
  /** per connection (systems with more than one, e.g. each Google user) */
  connections?: Record<string, Omit<EntitySyncStatus, 'connections' | 'direction'>>;
}

interface Count { external_system: string; connection: string; entity_type: string; sync_status: string; n: string; last_synced: Date | null }
interface State {
  external_system: string; connection: string; entity_type: string; last_error: string | null; ignored_local_edits: number;
  pending_deletions: { external_ids: string[] } | null; deferred_until: string | null;
  last_reconciled_at: Date | null;
  last_reconcile: { checked: number; created: number; updated: number; deleted: number; heldDeletions?: number; error: string | null } | null;
}

function summarize(counts: Count[], states: State[]): Omit<EntitySyncStatus, 'connections' | 'direction'> {
  const by_status: Record<string, number> = {};
  for (const r of counts) by_status[r.sync_status] = (by_status[r.sync_status] ?? 0) + Number(r.n);
  const records = counts.reduce((a, r) => a + Number(r.n), 0);
  const lastSynced = counts.map((r) => r.last_synced).filter((d): d is Date => d !== null).sort((a, b) => b.getTime() - a.getTime())[0];
  const lastError = states.map((s) => s.last_error).find(Boolean) ?? null;
  let status: EntitySyncStatus['status'] = records || states.length ? 'synced' : 'never';
  if (by_status.pending) status = 'pending';
  if (by_status.conflict) status = 'conflict';
  if (by_status.error || lastError) status = 'error';
  const edits = states.reduce((a, s) => a + (s.ignored_local_edits ?? 0), 0);
  const held = states.reduce((a, s) => a + (s.pending_deletions?.external_ids.length ?? 0), 0);
  const deferred = states.map((s) => s.deferred_until).filter((d): d is string => Boolean(d) && Date.parse(d!) > Date.now()).sort().pop();
  const reconciled = states.filter((s) => s.last_reconciled_at && s.last_reconcile).sort((a, b) => b.last_reconciled_at!.getTime() - a.last_reconciled_at!.getTime());
  const sum = (k: 'checked' | 'created' | 'updated' | 'deleted' | 'heldDeletions') => reconciled.reduce((a, s) => a + Number(s.last_reconcile![k] ?? 0), 0);
  return {
    // last_synced is TIMESTAMP (UTC, no zone) in the registry: present it as UTC.
    last_synced: lastSynced ? utcIso(lastSynced) : null,
    records,
    status,
    by_status,
    last_error: lastError,
    ...(edits ? { local_edits_not_pushed: edits } : {}),
    ...(held ? { held_deletions: held } : {}),
    ...(deferred ? { deferred_until: deferred } : {}),
    ...(reconciled.length
      ? {
          last_reconciled: {
            at: reconciled[0]!.last_reconciled_at!.toISOString(),
            checked: sum('checked'),
            created: sum('created'),
            updated: sum('updated'),
            deleted: sum('deleted'),
            held_deletions: sum('heldDeletions'),
            error: reconciled.map((s) => s.last_reconcile!.error).find(Boolean) ?? null,
          },
        }
      : {}),
  };
}

export async function syncStatus(pool: Pool, systems: readonly ConnectorDefinition[]): Promise<Record<string, Record<string, EntitySyncStatus>>> {
  const { rows } = await pool.query<Count>(
    `SELECT external_system, connection, entity_type, sync_status, count(*) AS n, max(last_synced) AS last_synced
     FROM sync_registry WHERE NOT deleted GROUP BY external_system, connection, entity_type, sync_status`,
  );
  const { rows: states } = await pool.query<State>(
    `SELECT external_system, connection, entity_type, last_error, ignored_local_edits, pending_deletions, cursor ->> 'deferredUntil' AS deferred_until,
            last_reconciled_at, last_reconcile
     FROM sync_state`,
  );
  const out: Record<string, Record<string, EntitySyncStatus>> = {};
  for (const def of systems) {
    out[def.system] = {};
    for (const spec of def.entities) {
      const mine = rows.filter((r) => r.external_system === def.system && r.entity_type === spec.type);
      const myStates = states.filter((s) => s.external_system === def.system && s.entity_type === spec.type);
      const entry: EntitySyncStatus = { ...summarize(mine, myStates), direction: spec.direction };
      const connections = [...new Set([...mine.map((r) => r.connection), ...myStates.map((s) => s.connection)])].sort();
      if (connections.length > 1 || (connections.length === 1 && connections[0] !== DEFAULT_CONNECTION)) {
        entry.connections = Object.fromEntries(
          connections.map((c) => [c, summarize(mine.filter((r) => r.connection === c), myStates.filter((s) => s.connection === c))]),
        );
      }
      out[def.system][spec.plural] = entry;
    }
  }
  return out;
}

/** node-postgres reads TIMESTAMP WITHOUT TIME ZONE as local time; the registry stores UTC. */
function utcIso(d: Date): string {
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
