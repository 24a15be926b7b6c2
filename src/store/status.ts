/** Sync status per system and entity type, from the registry and sync_state (the API's and CLI's view). */
import type { Pool } from 'pg';
import { ENTITIES, ENTITY_TYPES, type EntityType } from '../core/entities';

export interface EntitySyncStatus {
  last_synced: string | null;
  records: number;
  status: 'synced' | 'pending' | 'conflict' | 'error' | 'never';
  by_status: Record<string, number>;
  last_error: string | null;
}

export async function syncStatus(pool: Pool, systems: readonly string[]): Promise<Record<string, Record<string, EntitySyncStatus>>> {
  const { rows } = await pool.query<{ external_system: string; entity_type: string; sync_status: string; n: string; last_synced: Date | null }>(
    `SELECT external_system, entity_type, sync_status, count(*) AS n, max(last_synced) AS last_synced
     FROM sync_registry WHERE NOT deleted GROUP BY external_system, entity_type, sync_status`,
  );
  const { rows: states } = await pool.query<{ external_system: string; entity_type: string; last_error: string | null; last_success_at: Date | null }>(
    'SELECT external_system, entity_type, last_error, last_success_at FROM sync_state',
  );
  const out: Record<string, Record<string, EntitySyncStatus>> = {};
  for (const system of systems) {
    out[system] = {};
    for (const type of ENTITY_TYPES) {
      const mine = rows.filter((r) => r.external_system === system && r.entity_type === type);
      const state = states.find((s) => s.external_system === system && s.entity_type === type);
      const by_status = Object.fromEntries(mine.map((r) => [r.sync_status, Number(r.n)]));
      const records = mine.reduce((a, r) => a + Number(r.n), 0);
      const lastSynced = mine
        .map((r) => r.last_synced)
        .filter((d): d is Date => d !== null)
        .sort((a, b) => b.getTime() - a.getTime())[0];
      let status: EntitySyncStatus['status'] = records || state ? 'synced' : 'never';
      if (by_status.pending) status = 'pending';
      if (by_status.conflict) status = 'conflict';
      if (by_status.error || state?.last_error) status = 'error';
      out[system][ENTITIES[type as EntityType].plural] = {
        // last_synced is TIMESTAMP (UTC, no zone) in the registry: present it as UTC.
        last_synced: lastSynced ? utcIso(lastSynced) : null,
        records,
        status,
        by_status,
        last_error: state?.last_error ?? null,
      };
    }
  }
  return out;
}

/** node-postgres reads TIMESTAMP WITHOUT TIME ZONE as local time; the registry stores UTC. */
function utcIso(d: Date): string {
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
