/**
 * The data plane of a sync: applying a page of external records to the local tables and the
 * registry (pull), selecting local changes and recording the outcome of writing them (push).
 * Every change, its registry row and its event are written in one transaction, set-based.
 */
import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import {
  canonicalize,
  changedFields,
  columnFields,
  normalizeValue,
  refFields,
  contentHash,
  ENTITIES,
  type Canonical,
  type EntityType,
  type FieldKind,
} from '../core/entities';
import type { ExternalRecord, WriteOutcome } from '../connectors/types';
import type { ConflictPolicy } from '../config';
import { withTx } from './db';
import { enqueueEvents, type SyncEvent } from './outbox';

export interface RegistryRow {
  id: number;
  local_id: string;
  external_id: string | null;
  local_version: number | null;
  external_version: number | null;
  sync_status: 'synced' | 'pending' | 'conflict' | 'error';
  error_message?: string | null;
  synced_hash: string | null;
  synced_snapshot: Canonical | null;
  external_updated_at: Date | null;
  deleted: boolean;
  conflict: OpenConflict | null;
}

interface LocalRow {
  id: string;
  version: number;
  updated_at: Date;
  deleted_at: Date | null;
  [field: string]: unknown;
}

export interface PullCounts {
  fetched: number;
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
  conflicts: number;
  skipped: number;
  /** records Postgres rejected (marked as errors; the rest of the page went in) */
  failed: number;
}
export const emptyPullCounts = (): PullCounts => ({ fetched: 0, created: 0, updated: 0, deleted: 0, unchanged: 0, conflicts: 0, skipped: 0, failed: 0 });

export interface PushCounts {
  selected: number;
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
  errors: number;
}
export const emptyPushCounts = (): PushCounts => ({ selected: 0, created: 0, updated: 0, deleted: 0, unchanged: 0, errors: 0 });

const SQL_TYPE: Record<FieldKind, string> = { text: 'text', email: 'text', numeric: 'numeric', date: 'date', ref: 'text', refs: 'text' };

/** Column fields (associations kept in join tables are read and written separately). */
function fieldList(type: EntityType): string[] {
  return columnFields(type);
}
function recordsetColumns(type: EntityType): string {
  return fieldList(type)
    .map((f) => `${f} ${SQL_TYPE[ENTITIES[type].fields[f]!]}`)
    .join(', ');
}
/** SELECT list of every canonical field of alias `t`, join-table associations aggregated. */
function selectFields(type: EntityType, alias = 't'): string {
  const joins = Object.entries(ENTITIES[type].joins ?? {}).map(
    ([field, j]) => `(SELECT string_agg(j.${j.target}, ',' ORDER BY j.${j.target}) FROM ${j.table} j WHERE j.${j.own} = ${alias}.id) AS ${field}`,
  );
  return [...fieldList(type).map((f) => `${alias}.${f}`), ...joins].join(', ');
}

/** Writes join-table associations (e.g. a deal's contacts) to exactly the given sets. */
export async function writeJoins(c: PoolClient, type: EntityType, rows: Record<string, unknown>[]): Promise<void> {
  for (const [field, j] of Object.entries(ENTITIES[type].joins ?? {})) {
    const sets = JSON.stringify(rows.map((r) => ({ id: r.id, ids: r[field] ?? null })));
    await c.query(
      `DELETE FROM ${j.table} d USING jsonb_to_recordset($1::jsonb) AS x(id text, ids text)
       WHERE d.${j.own} = x.id AND NOT (d.${j.target} = ANY(string_to_array(COALESCE(x.ids, ''), ',')))`,
      [sets],
    );
    await c.query(
      `INSERT INTO ${j.table} (${j.own}, ${j.target})
       SELECT x.id, t.id FROM jsonb_to_recordset($1::jsonb) AS x(id text, ids text)
       CROSS JOIN LATERAL unnest(string_to_array(x.ids, ',')) AS t(id)
       WHERE x.ids IS NOT NULL ON CONFLICT DO NOTHING`,
      [sets],
    );
  }
}

/**
 * Translates association fields between Aurora ids and the external system's ids through the
 * registry. Ids with no registry entry (not synced yet, or deleted) are dropped.
 */
export async function translateRefs(
  db: Pool | PoolClient, system: string, type: EntityType, records: Canonical[], to: 'local' | 'external',
): Promise<void> {
  for (const [field, target, kind] of refFields(type)) {
    const ids = [...new Set(records.flatMap((r) => (r[field] ?? '').split(',').filter(Boolean)))];
    if (!ids.length) continue;
    const { rows } = await db.query<{ local_id: string; external_id: string }>(
      `SELECT local_id, external_id FROM sync_registry WHERE external_system = $1 AND entity_type = $2 AND NOT deleted
         AND external_id IS NOT NULL AND ${to === 'local' ? 'external_id' : 'local_id'} = ANY($3::text[])`,
      [system, target, ids],
    );
    const map = new Map(rows.map((r) => (to === 'local' ? [r.external_id, r.local_id] : [r.local_id, r.external_id])));
    for (const r of records) {
      const mapped = (r[field] ?? '').split(',').filter(Boolean).map((id) => map.get(id)).filter((x): x is string => Boolean(x));
      r[field] = kind === 'ref' ? (mapped[0] ?? null) : normalizeValue('refs', mapped);
    }
  }
}
function localCanonical(type: EntityType, row: Record<string, unknown>): Canonical {
  return canonicalize(type, row);
}

const utcNow = `timezone('utc', now())`;

interface RegistryWrite {
  local_id: string;
  external_id: string | null;
  local_version: number;
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
}

/** What an open conflict keeps in sync_registry.conflict. */
export interface OpenConflict {
  detected_at: string;
  fields: string[];
  local: { values: Canonical; version: number; updated_at: string | null; deleted: boolean };
  external: { values: Canonical; id: string; updated_at: string };
  base: Canonical | null;
}

export async function writeRegistry(c: PoolClient, system: string, type: EntityType, rows: RegistryWrite[]): Promise<void> {
  if (!rows.length) return;
  await c.query(
    `INSERT INTO sync_registry AS r (local_id, external_id, external_system, entity_type, last_synced, local_version,
        external_version, sync_status, error_message, synced_hash, synced_snapshot, external_updated_at,
        local_updated_at, deleted, last_resolution, updated_at, conflict)
     SELECT x.local_id, x.external_id, $1, $2, ${utcNow}, x.local_version, x.external_version, x.sync_status,
        x.error_message, x.synced_hash, x.synced_snapshot, x.external_updated_at, x.local_updated_at, x.deleted,
        x.last_resolution, now(), x.conflict
     FROM jsonb_to_recordset($3::jsonb) AS x(local_id text, external_id text, local_version int, external_version int,
        sync_status text, error_message text, synced_hash text, synced_snapshot jsonb, external_updated_at timestamptz,
        local_updated_at timestamptz, deleted boolean, last_resolution jsonb, synced boolean, conflict jsonb)
     ON CONFLICT (local_id, external_system, entity_type) DO UPDATE SET
        external_id = COALESCE(EXCLUDED.external_id, r.external_id),
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
        updated_at = now()`,
    [system, type, JSON.stringify(rows)],
  );
}

async function loadLocal(c: PoolClient, type: EntityType, ids: string[]): Promise<Map<string, LocalRow>> {
  if (!ids.length) return new Map();
  const { rows } = await c.query<LocalRow>(
    `SELECT t.id, ${selectFields(type)}, t.version, t.updated_at, t.deleted_at FROM ${ENTITIES[type].table} t
     WHERE t.id = ANY($1::text[]) FOR UPDATE OF t`,
    [ids],
  );
  return new Map(rows.map((r) => [r.id, r]));
}

export function toIso(d: Date | string | null | undefined): string | null {
  if (!d) return null;
  return (d instanceof Date ? d : new Date(d)).toISOString();
}

/**
 * Applies one page of external records. Per record: unchanged since the last sync (including our
 * own writes coming back) → nothing; changed only externally → local upsert; changed on both
 * sides → last-write-wins by timestamp, the loser's values kept in last_resolution.
 */
export interface PullOptions {
  /** how a record changed on both sides is decided (default last-write-wins) */
  policy?: ConflictPolicy;
  /** out: local ids of conflicts opened or changed by this page (their workflows need a nudge) */
  conflicts?: string[];
  /** out: local ids of conflicts this page closed (an operator retry): their workflows finish */
  closed?: string[];
}

export async function applyPulledPage(
  pool: Pool, system: string, type: EntityType, input: ExternalRecord[], opts: PullOptions = {},
): Promise<PullCounts> {
  let records = input;
  const policy: ConflictPolicy = opts.policy ?? { policy: 'last-write-wins', fallback: 'last-write-wins' };
  const conflictIds = opts.conflicts ?? [];
  const closedIds = opts.closed ?? [];
  const counts = emptyPullCounts();
  counts.fetched = records.length;
  if (!records.length) return counts;
  const spec = ENTITIES[type];
  const fields = fieldList(type);

  return withTx(pool, async (c) => {
    // Associations arrive as external ids: bring them into Aurora's id space first.
    records = records.map((r) => ({ ...r, fields: { ...r.fields } }));
    await translateRefs(c, system, type, records.map((r) => r.fields), 'local');
    const extIds = records.map((r) => r.externalId);
    const auroraIds = records.map((r) => r.auroraId).filter((x): x is string => Boolean(x));
    const { rows: regs } = await c.query<RegistryRow>(
      `SELECT * FROM sync_registry WHERE external_system = $1 AND entity_type = $2
         AND (external_id = ANY($3::text[]) OR local_id = ANY($4::text[]))
       ORDER BY id FOR UPDATE`,
      [system, type, extIds, auroraIds],
    );
    const regByExt = new Map(regs.filter((r) => r.external_id).map((r) => [r.external_id!, r]));
    const regByLocal = new Map(regs.map((r) => [r.local_id, r]));
    const locals = await loadLocal(c, type, [...new Set([...regs.map((r) => r.local_id), ...auroraIds])]);

    // Records new to the registry may match an unlinked local row by a natural key (contacts: email).
    const matchField = spec.matchBy;
    const matchKey = (rec: ExternalRecord): string => (matchField ? (rec.fields[matchField] ?? '') : '');
    const matched = new Map<string, LocalRow>();
    const unmatched = matchField ? records.filter((r) => !regByExt.has(r.externalId) && !(r.auroraId && locals.has(r.auroraId)) && matchKey(r)) : [];
    if (matchField && unmatched.length) {
      const { rows } = await c.query<LocalRow>(
        `SELECT t.id, ${selectFields(type)}, t.version, t.updated_at, t.deleted_at FROM ${spec.table} t
         WHERE lower(t.${matchField}) = ANY($1::text[]) AND t.deleted_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM sync_registry r WHERE r.local_id = t.id AND r.external_system = $2
                             AND r.entity_type = $3 AND r.external_id IS NOT NULL)
         ORDER BY t.created_at FOR UPDATE OF t`,
        [unmatched.map(matchKey), system, type],
      );
      for (const r of rows) {
        const key = String(r[matchField] ?? '').toLowerCase();
        if (!matched.has(key)) matched.set(key, r);
      }
    }

    const inserts: Record<string, unknown>[] = [];
    const updates: Record<string, unknown>[] = [];
    type Pending = {
      rec: ExternalRecord; reg?: RegistryRow; localId: string; hash: string; resolution: unknown; kind: 'created' | 'updated';
      /** merged values HubSpot does not have yet: the registry stays behind so push sends them */
      pushBack?: boolean;
    };
    const pending: Pending[] = [];
    const registryOnly: RegistryWrite[] = [];
    const conflictEvents: SyncEvent[] = [];

    for (const rec of records) {
      const hash = contentHash(rec.fields);
      let reg = regByExt.get(rec.externalId);
      // A record we created whose registry row lost its external id (crash between write and commit).
      if (!reg && rec.auroraId) {
        const byLocal = regByLocal.get(rec.auroraId);
        if (byLocal && (!byLocal.external_id || byLocal.external_id === rec.externalId)) reg = byLocal;
      }
      if (reg?.sync_status === 'conflict') {
        // Open conflict: leave the record alone; keep its external snapshot current.
        counts.skipped++;
        if (reg.conflict && contentHash(reg.conflict.external.values) !== hash && Date.parse(rec.updatedAt) >= Date.parse(reg.conflict.external.updated_at)) {
          const conflict: OpenConflict = { ...reg.conflict, external: { values: rec.fields, id: rec.externalId, updated_at: rec.updatedAt } };
          conflict.fields = changedFields(conflict.local.values, rec.fields);
          registryOnly.push({ ...keepRegistry(reg), sync_status: 'conflict', conflict });
          conflictIds.push(reg.local_id);
        }
        continue;
      }
      const local = reg ? locals.get(reg.local_id) : ((rec.auroraId && locals.get(rec.auroraId)) || matched.get(matchKey(rec)));
      if (reg && reg.synced_hash === hash && reg.external_id === rec.externalId && !reg.deleted) {
        counts.unchanged++;
        continue;
      }
      // An older version than the one last synced (HubSpot's search index lags its writes) never
      // overwrites a newer one.
      if (reg?.external_updated_at && Date.parse(rec.updatedAt) < new Date(reg.external_updated_at).getTime()) {
        counts.skipped++;
        continue;
      }
      if (!local) {
        // New to Aurora (or its local row is gone): create it, keyed by the Aurora id when HubSpot carries one.
        const localId = reg?.local_id ?? rec.auroraId ?? randomUUID();
        inserts.push({ id: localId, ...rec.fields });
        pending.push({ rec, reg, localId, hash, resolution: null, kind: 'created' });
        continue;
      }
      if (!reg) {
        matched.delete(matchKey(rec)); // one external record per local row
        reg = regByLocal.get(local.id); // e.g. an error row left by a failed create
      }
      const localFields = localCanonical(type, local);
      const localHash = contentHash(localFields);
      const localDeleted = local.deleted_at !== null;
      if (localHash === hash && !localDeleted) {
        // Both sides already agree (e.g. the same edit on both, or a first link): record it, change nothing.
        registryOnly.push({
          local_id: local.id, external_id: rec.externalId, local_version: local.version,
          external_version: reg?.external_id ? (reg.external_version ?? 0) + (reg.synced_hash === hash ? 0 : 1) : 1,
          sync_status: 'synced', error_message: null, synced_hash: hash, synced_snapshot: rec.fields,
          external_updated_at: rec.updatedAt, local_updated_at: toIso(local.updated_at), deleted: false,
          last_resolution: null, synced: true,
        });
        counts.unchanged++;
        continue;
      }
      // A local change since the last sync: other values, or a delete not yet sent (a delete bumps
      // the version but not the field hash).
      const linked = Boolean(reg?.external_id);
      const localChanged =
        !linked || (local.version > (reg!.local_version ?? 0) && (localHash !== reg!.synced_hash || (localDeleted && !reg!.deleted)));
      let resolution: unknown = null;
      let applied: Canonical = rec.fields;
      let pushBack = false; // the applied values still differ from HubSpot's: leave the record for push
      if (localChanged) {
        const externalAt = Date.parse(rec.updatedAt);
        const localAt = new Date(local.updated_at).getTime();
        const externalWins = externalAt > localAt;
        const base = linked ? (reg!.synced_snapshot ?? null) : null;
        const operatorRetry = reg?.sync_status === 'pending' && reg.conflict !== null;
        let mode: 'last-write-wins' | 'merge' | 'manual' = linked && !operatorRetry ? policy.policy : 'last-write-wins';
        // The fields in conflict: changed on both sides (against the base) to different values.
        const localCh = base ? changedFields(base, localFields) : [];
        const extCh = base ? changedFields(base, rec.fields) : [];
        let conflicting = base
          ? localCh.filter((f) => extCh.includes(f) && localFields[f] !== rec.fields[f])
          : changedFields(localFields, rec.fields);
        if (operatorRetry) closedIds.push(local.id);
        if (mode === 'merge') {
          if (!base || localDeleted) mode = policy.fallback;
          else {
            if (conflicting.length && policy.fallback === 'manual') mode = 'manual';
            else {
              // Three-way merge: each side's changes; fields changed on both sides go to the later writer.
              applied = { ...base };
              for (const f of extCh) applied[f] = rec.fields[f] ?? null;
              for (const f of localCh) if (!conflicting.includes(f) || !externalWins) applied[f] = localFields[f] ?? null;
              pushBack = contentHash(applied) !== hash;
            }
          }
        }
        if (linked) counts.conflicts++;
        const snapshot = {
          local: { values: localFields, deleted: localDeleted, version: local.version, updated_at: toIso(local.updated_at) },
          external: { values: rec.fields, id: rec.externalId, updated_at: rec.updatedAt },
          base,
        };
        if (mode === 'manual') {
          // A person decides: open the conflict, leave both sides as they are.
          const conflict: OpenConflict = {
            detected_at: new Date().toISOString(),
            fields: conflicting,
            local: { ...snapshot.local, updated_at: snapshot.local.updated_at },
            external: snapshot.external,
            base,
          };
          registryOnly.push({ ...keepRegistry(reg!), sync_status: 'conflict', external_updated_at: rec.updatedAt, conflict });
          conflictIds.push(local.id);
          conflictEvents.push({
            action: 'conflict', source: system, entity_type: type, entity_id: local.id, timestamp: conflict.detected_at,
            direction: 'pull', external_id: rec.externalId, local_version: local.version, external_version: reg!.external_version,
          });
          continue;
        }
        resolution = {
          policy: mode === 'merge' ? `merge${conflicting.length ? ' (overlapping fields: last-write-wins)' : ''}` : 'last-write-wins',
          reason: !linked
            ? 'first link of records that already existed on both sides'
            : operatorRetry
              ? 'retried by an operator (sync_status set to pending)'
              : 'changed on both sides since the last sync',
          winner: mode === 'merge' ? (conflicting.length ? (externalWins ? 'external' : 'local') : 'both') : externalWins ? 'external' : 'local',
          at: new Date().toISOString(),
          fields: conflicting,
          ...snapshot,
        };
        if (mode === 'last-write-wins' && !externalWins) {
          // Local wins: leave the row; push sends it out (or archives it). Record what the external side had.
          registryOnly.push({
            local_id: local.id, external_id: rec.externalId, local_version: linked ? (reg!.local_version ?? 0) : 0,
            external_version: (reg?.external_version ?? 0) + 1, sync_status: 'pending', error_message: null,
            synced_hash: null, synced_snapshot: null, external_updated_at: rec.updatedAt, local_updated_at: null,
            deleted: false, last_resolution: resolution, synced: false,
          });
          continue;
        }
      }
      updates.push({ id: local.id, ...applied });
      pending.push({ rec, reg, localId: local.id, hash, resolution, kind: 'updated', pushBack });
    }

    const cols = recordsetColumns(type);
    const written = new Map<string, { version: number; updated_at: Date }>();
    if (inserts.length) {
      const { rows } = await c.query<{ id: string; version: number; updated_at: Date }>(
        `INSERT INTO ${spec.table} (id, ${fields.join(', ')})
         SELECT id, ${fields.join(', ')} FROM jsonb_to_recordset($1::jsonb) AS x(id text, ${cols})
         ON CONFLICT (id) DO UPDATE SET ${fields.map((f) => `${f} = EXCLUDED.${f}`).join(', ')}, deleted_at = NULL
         RETURNING id, version, updated_at`,
        [JSON.stringify(inserts)],
      );
      for (const r of rows) written.set(r.id, r);
    }
    if (updates.length) {
      const { rows } = await c.query<{ id: string; version: number; updated_at: Date }>(
        `UPDATE ${spec.table} t SET ${fields.map((f) => `${f} = x.${f}`).join(', ')}, deleted_at = NULL
         FROM jsonb_to_recordset($1::jsonb) AS x(id text, ${cols})
         WHERE t.id = x.id RETURNING t.id, t.version, t.updated_at`,
        [JSON.stringify(updates)],
      );
      for (const r of rows) written.set(r.id, r);
    }

    if (ENTITIES[type].joins && (inserts.length || updates.length)) {
      await writeJoins(c, type, [...inserts, ...updates]);
      // join-table changes bump the row's version: read the final versions
      const { rows } = await c.query<{ id: string; version: number; updated_at: Date }>(
        `SELECT id, version, updated_at FROM ${spec.table} WHERE id = ANY($1::text[])`,
        [[...written.keys()]],
      );
      for (const r of rows) written.set(r.id, r);
    }

    const regWrites: RegistryWrite[] = [...registryOnly];
    const events: SyncEvent[] = [];
    const now = new Date().toISOString();
    for (const p of pending) {
      const w = written.get(p.localId)!;
      const externalVersion = (p.reg?.external_version ?? 0) + 1;
      regWrites.push({
        local_id: p.localId, external_id: p.rec.externalId,
        local_version: p.pushBack ? (p.reg?.local_version ?? 0) : w.version, external_version: externalVersion,
        sync_status: p.pushBack ? 'pending' : 'synced', error_message: null, synced_hash: p.hash, synced_snapshot: p.rec.fields,
        external_updated_at: p.rec.updatedAt, local_updated_at: toIso(w.updated_at), deleted: false,
        last_resolution: p.resolution, synced: true,
      });
      if (p.kind === 'created') counts.created++;
      else counts.updated++;
      events.push({
        action: p.kind, source: system, entity_type: type, entity_id: p.localId, timestamp: now, direction: 'pull',
        external_id: p.rec.externalId, local_version: w.version, external_version: externalVersion,
      });
    }
    await writeRegistry(c, system, type, regWrites);
    await enqueueEvents(c, [...conflictEvents, ...events]);
    return counts;
  });
}

/** A registry write that keeps a row's synced state as it is (for status-only changes). */
function keepRegistry(reg: RegistryRow): RegistryWrite {
  return {
    local_id: reg.local_id, external_id: reg.external_id, local_version: reg.local_version ?? 0, external_version: reg.external_version,
    sync_status: reg.sync_status, error_message: reg.error_message ?? null, synced_hash: null, synced_snapshot: null,
    external_updated_at: null, local_updated_at: null, deleted: reg.deleted, last_resolution: null, synced: false,
    conflict: reg.conflict,
  };
}

/** Applies external deletions (archived records): soft-deletes the local rows and tombstones the registry. */
export async function applyExternalDeletions(pool: Pool, system: string, type: EntityType, archived: ExternalRecord[]): Promise<number> {
  if (!archived.length) return 0;
  const archivedAt = new Map(archived.map((r) => [r.externalId, Date.parse(r.archivedAt ?? r.updatedAt)]));
  return withTx(pool, async (c) => {
    const { rows: regs } = await c.query<RegistryRow>(
      `SELECT * FROM sync_registry WHERE external_system = $1 AND entity_type = $2 AND external_id = ANY($3::text[])
         AND NOT deleted AND sync_status <> 'conflict' FOR UPDATE`,
      [system, type, [...archivedAt.keys()]],
    );
    if (!regs.length) return 0;
    // Last write wins here too: an Aurora edit made after the archive keeps the record (push creates it again).
    const { rows: locals } = await c.query<{ id: string; version: number; updated_at: Date; deleted_at: Date | null }>(
      `SELECT id, version, updated_at, deleted_at FROM ${ENTITIES[type].table} WHERE id = ANY($1::text[]) FOR UPDATE`,
      [regs.map((r) => r.local_id)],
    );
    const local = new Map(locals.map((l) => [l.id, l]));
    const kept = regs.filter((r) => {
      const l = local.get(r.local_id);
      return l && !l.deleted_at && l.version > (r.local_version ?? 0) && new Date(l.updated_at).getTime() > (archivedAt.get(r.external_id!) ?? 0);
    });
    const keptIds = new Set(kept.map((r) => r.local_id));
    const gone = regs.filter((r) => !keptIds.has(r.local_id));
    const now = new Date().toISOString();
    const { rows: deleted } = gone.length
      ? await c.query<{ id: string; version: number; updated_at: Date }>(
          `UPDATE ${ENTITIES[type].table} SET deleted_at = COALESCE(deleted_at, clock_timestamp())
           WHERE id = ANY($1::text[]) RETURNING id, version, updated_at`,
          [gone.map((r) => r.local_id)],
        )
      : { rows: [] };
    const byId = new Map(deleted.map((d) => [d.id, d]));
    await writeRegistry(c, system, type, [
      ...gone.map((r) => ({
        local_id: r.local_id, external_id: r.external_id, local_version: byId.get(r.local_id)?.version ?? r.local_version ?? 0,
        external_version: (r.external_version ?? 0) + 1, sync_status: 'synced' as const, error_message: null, synced_hash: null,
        synced_snapshot: null, external_updated_at: now, local_updated_at: toIso(byId.get(r.local_id)?.updated_at), deleted: true,
        last_resolution: null, synced: true,
      })),
      // The tombstone plus a local version still ahead: the next push creates the record again.
      ...kept.map((r) => ({
        ...keepRegistry(r), deleted: true, external_version: (r.external_version ?? 0) + 1, external_updated_at: now,
        last_resolution: {
          policy: 'last-write-wins', winner: 'local', at: now, reason: 'edited in Aurora after it was archived in HubSpot',
          external: { id: r.external_id, archived_at: new Date(archivedAt.get(r.external_id!) ?? 0).toISOString() },
        },
      })),
    ]);
    await enqueueEvents(
      c,
      gone.map((r) => ({
        action: 'deleted' as const, source: system, entity_type: type, entity_id: r.local_id, timestamp: now,
        direction: 'pull' as const, external_id: r.external_id, local_version: byId.get(r.local_id)?.version ?? null,
        external_version: (r.external_version ?? 0) + 1,
      })),
    );
    return gone.length;
  });
}

export interface PushCandidate {
  /** registry sync_status, when the record has a registry row */
  status?: RegistryRow['sync_status'];
  localId: string;
  version: number;
  updatedAt: Date;
  deleted: boolean;
  fields: Canonical;
  hash: string;
  reg: Pick<RegistryRow, 'external_id' | 'local_version' | 'external_version' | 'synced_hash' | 'synced_snapshot' | 'deleted'> | null;
}

/**
 * Local rows whose version is ahead of the registry (or never synced), in id order after `afterId`.
 * Records in conflict and records already deleted on both sides are left alone.
 */
export async function selectPushCandidates(
  pool: Pool, system: string, type: EntityType, afterId: string, limit: number,
): Promise<PushCandidate[]> {
  const { rows } = await pool.query<LocalRow & { external_id: string | null; reg_local_version: number | null; reg_id: number | null; external_version: number | null; synced_hash: string | null; synced_snapshot: Canonical | null; reg_deleted: boolean | null }>(
    `SELECT t.id, ${selectFields(type)}, t.version, t.updated_at, t.deleted_at,
            r.id AS reg_id, r.external_id, r.local_version AS reg_local_version, r.external_version, r.synced_hash, r.synced_snapshot, r.sync_status, r.deleted AS reg_deleted
     FROM ${ENTITIES[type].table} t
     LEFT JOIN sync_registry r ON r.local_id = t.id AND r.external_system = $1 AND r.entity_type = $2
     WHERE t.id > $3
       AND ((r.id IS NULL AND t.deleted_at IS NULL)
         OR (r.id IS NOT NULL AND r.sync_status <> 'conflict' AND NOT r.deleted
             AND (t.version > COALESCE(r.local_version, 0) OR r.sync_status = 'pending'))
         -- deleted on both sides, then restored in Aurora: create it again
         OR (r.id IS NOT NULL AND r.deleted AND t.deleted_at IS NULL AND t.version > COALESCE(r.local_version, 0)))
     ORDER BY t.id LIMIT $4`,
    [system, type, afterId, limit],
  );
  return rows.map((r) => {
    const fields = localCanonical(type, r);
    return {
      localId: r.id, version: r.version, status: (r as { sync_status?: RegistryRow['sync_status'] }).sync_status, updatedAt: r.updated_at, deleted: r.deleted_at !== null, fields, hash: contentHash(fields),
      reg: r.reg_id === null ? null : { external_id: r.external_id, local_version: r.reg_local_version, external_version: r.external_version, synced_hash: r.synced_hash, synced_snapshot: r.synced_snapshot, deleted: Boolean(r.reg_deleted) },
    };
  });
}

export type PushKind = 'created' | 'updated' | 'deleted' | 'unchanged';
export interface PushItem {
  candidate: PushCandidate;
  kind: PushKind;
  outcome?: WriteOutcome;
  /** some associations point at records not synced yet: keep the record pending so it goes again */
  unresolved?: boolean;
}

/** Records the outcome of a push batch: registry rows, and events for what changed externally. */
export async function recordPushOutcomes(
  pool: Pool, system: string, type: EntityType,
  items: PushItem[],
): Promise<PushCounts> {
  const counts = emptyPushCounts();
  counts.selected = items.length;
  if (!items.length) return counts;
  const regWrites: RegistryWrite[] = [];
  const events: SyncEvent[] = [];
  const now = new Date().toISOString();
  for (const { candidate: cand, kind, outcome, unresolved } of items) {
    const prevExtVersion = cand.reg?.external_version ?? 0;
    if (kind === 'unchanged') {
      // The local change restored the synced state: nothing to send, just catch the registry up.
      regWrites.push({
        local_id: cand.localId, external_id: cand.reg?.external_id ?? null, local_version: cand.version, external_version: prevExtVersion,
        sync_status: 'synced', error_message: null, synced_hash: null, synced_snapshot: null, external_updated_at: null,
        local_updated_at: toIso(cand.updatedAt), deleted: false, last_resolution: null, synced: true,
      });
      counts.unchanged++;
      continue;
    }
    if (!outcome || !outcome.ok) {
      counts.errors++;
      regWrites.push({
        local_id: cand.localId, external_id: cand.reg?.external_id ?? null, local_version: cand.reg?.local_version ?? 0,
        external_version: cand.reg ? prevExtVersion : null, sync_status: 'error',
        error_message: outcome && !outcome.ok ? outcome.error.slice(0, 2000) : 'no outcome', synced_hash: null, synced_snapshot: null,
        external_updated_at: null, local_updated_at: null, deleted: false, last_resolution: null, synced: false,
      });
      continue;
    }
    const action = kind === 'deleted' ? 'deleted' : outcome.created === false && kind === 'created' ? 'updated' : kind;
    counts[kind]++;
    const extVersion = prevExtVersion + 1;
    regWrites.push({
      local_id: cand.localId, external_id: outcome.externalId, local_version: cand.version, external_version: extVersion,
      sync_status: unresolved ? 'pending' : 'synced',
      error_message: unresolved ? 'waiting for associated records to sync' : null,
      synced_hash: kind === 'deleted' ? null : contentHash(outcome.fields),
      synced_snapshot: kind === 'deleted' ? null : outcome.fields,
      external_updated_at: outcome.updatedAt, local_updated_at: toIso(cand.updatedAt), deleted: kind === 'deleted',
      last_resolution: null, synced: true,
    });
    events.push({
      action, source: system, entity_type: type, entity_id: cand.localId, timestamp: now, direction: 'push',
      external_id: outcome.externalId, local_version: cand.version, external_version: extVersion,
    });
  }
  await withTx(pool, async (c) => {
    await writeRegistry(c, system, type, regWrites);
    await enqueueEvents(c, events);
  });
  return counts;
}

/** Local edits to records with an open conflict: refresh the conflict's local snapshot. Returns their ids. */
export async function refreshConflictSnapshots(pool: Pool, system: string, type: EntityType): Promise<string[]> {
  const { rows } = await pool.query<LocalRow & { conflict: OpenConflict }>(
    `SELECT t.id, ${selectFields(type)}, t.version, t.updated_at, t.deleted_at, r.conflict
     FROM ${ENTITIES[type].table} t JOIN sync_registry r ON r.local_id = t.id AND r.external_system = $1 AND r.entity_type = $2
     WHERE r.sync_status = 'conflict' AND r.conflict IS NOT NULL AND t.version > (r.conflict->'local'->>'version')::int`,
    [system, type],
  );
  for (const row of rows) {
    const values = localCanonical(type, row);
    const conflict: OpenConflict = {
      ...row.conflict,
      fields: changedFields(values, row.conflict.external.values),
      local: { values, version: row.version, updated_at: toIso(row.updated_at), deleted: row.deleted_at !== null },
    };
    await pool.query(
      `UPDATE sync_registry SET conflict = $4::jsonb, updated_at = now()
       WHERE external_system = $1 AND entity_type = $2 AND local_id = $3 AND sync_status = 'conflict'`,
      [system, type, row.id, JSON.stringify(conflict)],
    );
  }
  return rows.map((r) => r.id);
}
