/**
 * Open conflicts: reading them, deciding (a person's choice or a policy's) and committing the local
 * side. The activity writes the external side through the connector in between; the row, registry
 * and a `resolved` event are then committed together.
 */
import type { Pool } from 'pg';
import { contentHash } from '../core/hash';
import { changedFields, columnFields, normalizeValue, type Canonical, type EntitySpec } from '../core/model';
import type { OpenConflict } from '../core/reconcile';
import type { ConflictDetails, ConflictResult, ResolutionInput } from '../workflows/definitions';
import { withTx } from './db';
import { recordsetRow, SQL_TYPE, writeJoins } from './local';
import { enqueueEvents } from './outbox';
import { toIso, writeRegistry, type RegistryRow, type Scope } from './registry';

/** The open conflict of one record (sync_status 'conflict', or 'pending' after an operator retry), or null. */
export async function loadConflict(pool: Pool, system: string, spec: EntitySpec, localId: string): Promise<(ConflictDetails & { connection: string }) | null> {
  const type = spec.type;
  const { rows } = await pool.query<RegistryRow & { conflict: OpenConflict | null }>(
    'SELECT * FROM sync_registry WHERE external_system = $1 AND entity_type = $2 AND local_id = $3',
    [system, type, localId],
  );
  const reg = rows[0];
  if (!reg?.conflict) return null;
  const c = reg.conflict;
  return {
    system,
    connection: reg.connection,
    entityType: type,
    localId,
    externalId: reg.external_id,
    status: reg.sync_status,
    detectedAt: c.detected_at,
    fields: c.fields,
    kinds: spec.fields,
    local: { values: c.local.values, updated_at: c.local.updated_at, deleted: c.local.deleted, version: c.local.version },
    external: c.external,
    base: c.base,
  };
}

export interface ConflictListItem {
  system: string;
  connection: string;
  entity_type: string;
  local_id: string;
  external_id: string | null;
  fields: string[];
  detected_at: string;
}

export async function listConflicts(pool: Pool): Promise<ConflictListItem[]> {
  const { rows } = await pool.query<{ external_system: string; connection: string; entity_type: string; local_id: string; external_id: string | null; conflict: OpenConflict }>(
    `SELECT external_system, connection, entity_type, local_id, external_id, conflict FROM sync_registry
     WHERE sync_status = 'conflict' AND conflict IS NOT NULL ORDER BY (conflict->>'detected_at'), id`,
  );
  return rows.map((r) => ({
    system: r.external_system,
    connection: r.connection,
    entity_type: r.entity_type,
    local_id: r.local_id,
    external_id: r.external_id,
    fields: r.conflict.fields,
    detected_at: r.conflict.detected_at,
  }));
}

/** The values both sides end with. Deleted local + "local" means the record goes away on both sides. */
export function decide(d: ConflictDetails, input: ResolutionInput): { values: Canonical; winner: 'local' | 'external' | 'merged'; deleted: boolean } {
  const local = d.local.values;
  const external = d.external.values;
  let choice = input.choice;
  if (choice === 'last-write-wins') {
    const localAt = d.local.updated_at ? Date.parse(d.local.updated_at) : 0;
    choice = Date.parse(d.external.updated_at) > localAt ? 'external' : 'local';
  }
  if (choice === 'local') return { values: { ...local }, winner: 'local', deleted: d.local.deleted };
  if (choice === 'external') return { values: { ...external }, winner: 'external', deleted: false };
  // merged: each side's own changes against the base, then the person's choices.
  const base = d.base ?? external;
  const values: Canonical = { ...base };
  for (const f of changedFields(base, external)) values[f] = external[f] ?? null;
  for (const f of changedFields(base, local)) values[f] = local[f] ?? null;
  for (const [field, pick] of Object.entries(input.fields ?? {})) {
    if (pick === 'local') values[field] = local[field] ?? null;
    else if (pick === 'external') values[field] = external[field] ?? null;
    else values[field] = normalizeValue(d.kinds[field]!, pick.value);
  }
  return { values, winner: 'merged', deleted: false };
}

/** What the external side ended with after a resolution was written there. */
export interface ExternalWrite {
  wrote: boolean;
  updatedAt: string;
  etag?: string | null;
}

/** The external writes a decision needs: delete, update these fields, or nothing. */
export function externalChange(details: ConflictDetails, decision: ReturnType<typeof decide>): { delete: true } | { update: string[] } | null {
  if (decision.deleted) return { delete: true };
  const changed = changedFields(decision.values, details.external.values);
  return changed.length ? { update: changed } : null;
}

/**
 * Commits a decision on the Aurora side once the external side has it: the local row, the
 * registry (synced; the decision with both sides' values in last_resolution) and a `resolved` event.
 */
export async function commitResolution(
  pool: Pool, scope: Scope, details: ConflictDetails, input: ResolutionInput, decision: ReturnType<typeof decide>, external: ExternalWrite,
): Promise<ConflictResult> {
  const { spec } = scope;
  const localId = details.localId;
  const now = new Date().toISOString();
  return withTx(pool, async (c) => {
    const { rows: current } = await c.query<{ version: number }>(`SELECT version FROM ${spec.table} WHERE id = $1 FOR UPDATE`, [localId]);
    if (!current[0]) throw new Error(`local ${spec.type} ${localId} no longer exists`);
    const { rows: regRows } = await c.query<RegistryRow>(
      'SELECT * FROM sync_registry WHERE external_system = $1 AND entity_type = $2 AND local_id = $3 FOR UPDATE',
      [scope.system, spec.type, localId],
    );
    const reg = regRows[0]!;
    const cols = columnFields(spec);
    await c.query(
      `UPDATE ${spec.table} t SET ${cols.map((f) => `${f} = x.${f}`).join(', ')},
         deleted_at = ${decision.deleted ? 'COALESCE(t.deleted_at, clock_timestamp())' : 'NULL'}
       FROM jsonb_to_recordset($2::jsonb) AS x(${['id text', ...cols.map((f) => `${f} ${SQL_TYPE[spec.fields[f]!]}`)].join(', ')})
       WHERE t.id = $1`,
      [localId, JSON.stringify([recordsetRow(spec, localId, decision.values)])],
    );
    await writeJoins(c, spec, [{ id: localId, ...decision.values }]);
    const { rows: fin } = await c.query<{ version: number; updated_at: Date }>(`SELECT version, updated_at FROM ${spec.table} WHERE id = $1`, [localId]);
    const wroteLocal = fin[0]!.version !== Number(current[0].version);
    const result: ConflictResult = {
      outcome: 'resolved',
      summary: `${input.byPolicy ? 'resolved by policy' : `resolved by ${input.resolvedBy}`}: kept ${decision.winner}${input.comment ? ` (${input.comment})` : ''}`,
      choice: input.choice,
      resolvedBy: input.resolvedBy,
      comment: input.comment,
      byPolicy: Boolean(input.byPolicy),
      values: decision.values,
      wroteLocal,
      wroteExternal: external.wrote,
      at: now,
    };
    const externalVersion = (reg.external_version ?? 0) + (external.wrote ? 1 : 0);
    await writeRegistry(c, scope, [
      {
        local_id: localId, external_id: details.externalId, local_version: fin[0]!.version, external_version: externalVersion,
        sync_status: 'synced', error_message: null,
        synced_hash: decision.deleted ? null : contentHash(decision.values), synced_snapshot: decision.deleted ? null : decision.values,
        external_updated_at: external.updatedAt, local_updated_at: toIso(fin[0]!.updated_at), deleted: decision.deleted,
        last_resolution: {
          policy: input.byPolicy ? 'policy' : 'manual', choice: input.choice, winner: decision.winner, resolved_by: input.resolvedBy,
          comment: input.comment ?? null, at: now, fields: details.fields,
          local: details.local, external: details.external, base: details.base, final: decision.values,
        },
        synced: true, conflict: null, external_etag: external.etag ?? null,
      },
    ]);
    await enqueueEvents(c, [
      {
        action: 'resolved', source: scope.system, entity_type: spec.type, entity_id: localId, timestamp: now, direction: 'resolution',
        external_id: details.externalId, local_version: fin[0]!.version, external_version: externalVersion,
      },
    ]);
    return result;
  });
}

