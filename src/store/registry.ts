/**
 * The sync registry (the seed's `sync_registry`, plus the engine's columns): one row per synced
 * record and system, scoped by connection. Writes are set-based (jsonb_to_recordset).
 */
import type { PoolClient } from 'pg';
import type { Canonical, EntitySpec } from '../core/model';
import type { OpenConflict, RegistryView } from '../core/reconcile';

export type { OpenConflict } from '../core/reconcile';

/** Where a store call works: one system's connection and entity type. */
export interface Scope {
  system: string;
  connection: string;
  spec: EntitySpec;
  /** all entity types of the system (associations between them) */
  specs: readonly EntitySpec[];
}

export interface RegistryRow extends RegistryView {
  id: number;
  connection: string;
  error_message?: string | null;
  external_updated_at: Date | null;
  external_etag: string | null;
}

export interface RegistryWrite {
  local_id: string;
  external_id: string | null;
  local_version: number | null;
  external_version: number | null;
  sync_status: RegistryRow['sync_status'];
  error_message: string | null;
  synced_hash: string | null;
  synced_snapshot: Canonical | null;
  external_updated_at: string | null;
  local_updated_at: string | null;
  deleted: boolean;
  last_resolution: unknown;
  /** false: keep last_synced as it was (nothing was synced) */
  synced: boolean;
  /** an open conflict's snapshots (sync_status 'conflict'); anything else clears it */
  conflict?: OpenConflict | null;
  /** the external version marker (etag) now in sync; null keeps the one stored */
  external_etag?: string | null;
  /**
   * the local row is written in the same statement: local_version (where null) and
   * local_updated_at are the written row's (registryUpsertSql's `written`)
   */
  from_row?: boolean;
}

const utcNow = `timezone('utc', now())`;

/** Where a registry upsert's values come from: SQL parameter placeholders, and a relation of rows just written. */
export interface RegistrySql {
  system: string;
  type: string;
  connection: string;
  /** the jsonb array of RegistryWrite rows (registryRowsJson) */
  rows: string;
  /**
   * a relation `(id, version, updated_at)` of local rows written by the same statement or
   * transaction: rows marked `from_row` take their local_version (where null) and
   * local_updated_at from it
   */
  written?: string;
}

/**
 * `INSERT INTO sync_registry … ON CONFLICT … DO UPDATE` of a jsonb array of RegistryWrite rows,
 * as SQL text (for one statement of its own, or as a data-modifying CTE beside the row writes).
 */
export function registryUpsertSql(p: RegistrySql): string {
  const from = p.written
    ? `jsonb_to_recordset(${p.rows}::jsonb) AS x(${RECORDSET}, from_row boolean) LEFT JOIN ${p.written} w ON x.from_row AND w.id = x.local_id`
    : `jsonb_to_recordset(${p.rows}::jsonb) AS x(${RECORDSET})`;
  const [version, localAt] = p.written ? ['COALESCE(x.local_version, w.version)', 'COALESCE(w.updated_at, x.local_updated_at)'] : ['x.local_version', 'x.local_updated_at'];
  return `INSERT INTO sync_registry AS r (local_id, external_id, external_system, entity_type, connection, last_synced, local_version,
        external_version, sync_status, error_message, synced_hash, synced_snapshot, external_updated_at,
        local_updated_at, deleted, last_resolution, updated_at, conflict, external_etag)
     SELECT x.local_id, x.external_id, ${p.system}, ${p.type}, ${p.connection}, ${utcNow}, ${version}, x.external_version, x.sync_status,
        x.error_message, x.synced_hash, x.synced_snapshot, x.external_updated_at, ${localAt}, x.deleted,
        x.last_resolution, now(), x.conflict, x.external_etag
     FROM ${from}
     ON CONFLICT (local_id, external_system, entity_type) DO UPDATE SET
        external_id = COALESCE(EXCLUDED.external_id, r.external_id),
        connection = EXCLUDED.connection,
        last_synced = CASE WHEN (EXCLUDED.sync_status = 'synced') THEN EXCLUDED.last_synced ELSE r.last_synced END,
        local_version = EXCLUDED.local_version,
        external_version = EXCLUDED.external_version,
        sync_status = EXCLUDED.sync_status,
        error_message = EXCLUDED.error_message,
        synced_hash = COALESCE(EXCLUDED.synced_hash, r.synced_hash),
        synced_snapshot = COALESCE(EXCLUDED.synced_snapshot, r.synced_snapshot),
        external_updated_at = COALESCE(EXCLUDED.external_updated_at, r.external_updated_at),
        local_updated_at = COALESCE(EXCLUDED.local_updated_at, r.local_updated_at),
        deleted = EXCLUDED.deleted,
        last_resolution = COALESCE(EXCLUDED.last_resolution, r.last_resolution),
        conflict = EXCLUDED.conflict,
        conflict_started = CASE WHEN EXCLUDED.sync_status = 'conflict' THEN r.conflict_started ELSE FALSE END,
        external_etag = COALESCE(EXCLUDED.external_etag, r.external_etag),
        updated_at = now()`;
}

/**
 * RegistryWrite rows as the jsonb parameter of registryUpsertSql. A row's null fields are left out:
 * jsonb_to_recordset reads a missing key as NULL, and half of a typical row's fields (error,
 * resolution, conflict, etag…) are null, which Postgres would parse and look up for nothing: a
 * fifth of the parameter and close to a third of its parse (26 → 18 ms for a pulled page of 1,000
 * contacts). Only the rows' own keys are left out: a snapshot keeps its null fields.
 */
export function registryRowsJson(rows: readonly RegistryWrite[]): string {
  return JSON.stringify(
    rows.map((row) => {
      const kept: Record<string, unknown> = {};
      for (const k in row) {
        const v = row[k as keyof RegistryWrite];
        if (v !== null && v !== undefined) kept[k] = v;
      }
      return kept;
    }),
  );
}

const RECORDSET = `local_id text, external_id text, local_version int, external_version int,
        sync_status text, error_message text, synced_hash text, synced_snapshot jsonb, external_updated_at timestamptz,
        local_updated_at timestamptz, deleted boolean, last_resolution jsonb, synced boolean, conflict jsonb, external_etag text`;

export async function writeRegistry(c: PoolClient, scope: Pick<Scope, 'system' | 'connection' | 'spec'>, rows: RegistryWrite[]): Promise<void> {
  if (!rows.length) return;
  await c.query(registryUpsertSql({ system: '$1', type: '$2', rows: '$3', connection: '$4' }), [scope.system, scope.spec.type, registryRowsJson(rows), scope.connection]);
}

/** A registry write that keeps a row's synced state as it is (for status-only changes). */
export function keepRegistry(reg: RegistryRow): RegistryWrite {
  return {
    local_id: reg.local_id, external_id: reg.external_id, local_version: reg.local_version ?? 0, external_version: reg.external_version,
    sync_status: reg.sync_status, error_message: reg.error_message ?? null, synced_hash: null, synced_snapshot: null,
    external_updated_at: null, local_updated_at: null, deleted: reg.deleted, last_resolution: null, synced: false,
    conflict: reg.conflict,
  };
}

export function toIso(d: Date | string | null | undefined): string | null {
  if (!d) return null;
  return (d instanceof Date ? d : new Date(d)).toISOString();
}

/** Of these external ids, those whose registry entry holds a snapshot of the last sync. */
export async function withSnapshot(db: import('pg').Pool, scope: Pick<Scope, 'system' | 'connection' | 'spec'>, externalIds: string[]): Promise<Set<string>> {
  const { rows } = await db.query<{ external_id: string }>(
    `SELECT external_id FROM sync_registry WHERE external_system = $1 AND connection = $2 AND entity_type = $3 AND external_id = ANY($4::text[])
       AND NOT deleted AND synced_snapshot IS NOT NULL`,
    [scope.system, scope.connection, scope.spec.type, externalIds],
  );
  return new Set(rows.map((r) => r.external_id));
}

/** Marks records a pull could not apply (Postgres rejected the data) as errors. */
export async function markPullError(c: PoolClient | import('pg').Pool, scope: Pick<Scope, 'system' | 'connection' | 'spec'>, externalId: string, message: string): Promise<void> {
  await c.query(
    `UPDATE sync_registry SET sync_status = 'error', error_message = $5, updated_at = now()
     WHERE external_system = $1 AND connection = $2 AND entity_type = $3 AND external_id = $4`,
    [scope.system, scope.connection, scope.spec.type, externalId, message],
  );
}
