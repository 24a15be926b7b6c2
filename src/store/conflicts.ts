/**
 * Open conflicts: reading them, and applying a decision (a person's, or a policy's) to both sides.
 * The decision is written to whichever side lost, then the row, registry and a `resolved` event
 * are committed together.
 */
import type { Pool } from 'pg';
import { ApplicationFailure } from '@temporalio/common';
import { changedFields, contentHash, ENTITIES, normalizeValue, type Canonical, type EntityType } from '../core/entities';
import type { Connector } from '../connectors/types';
import type { ConflictDetails, ConflictResult, ResolutionInput } from '../workflows/definitions';
import { withTx } from './db';
import { enqueueEvents } from './outbox';
import { toIso, translateRefs, writeJoins, writeRegistry, type OpenConflict, type RegistryRow } from './sync';

export const ConflictErrors = { NotOpen: 'CONFLICT_NOT_OPEN', Invalid: 'INVALID_RESOLUTION' } as const;

/** The open conflict of one record (sync_status 'conflict', or 'pending' after an operator retry), or null. */
export async function loadConflict(pool: Pool, system: string, type: EntityType, localId: string): Promise<ConflictDetails | null> {
  const { rows } = await pool.query<RegistryRow & { conflict: OpenConflict | null }>(
    'SELECT * FROM sync_registry WHERE external_system = $1 AND entity_type = $2 AND local_id = $3',
    [system, type, localId],
  );
  const reg = rows[0];
  if (!reg?.conflict) return null;
  const c = reg.conflict;
  return {
    system,
    entityType: type,
    localId,
    externalId: reg.external_id,
    status: reg.sync_status,
    detectedAt: c.detected_at,
    fields: c.fields,
    kinds: ENTITIES[type].fields,
    local: { values: c.local.values, updated_at: c.local.updated_at, deleted: c.local.deleted, version: c.local.version },
    external: c.external,
    base: c.base,
  };
}

export interface ConflictListItem {
  system: string;
  entity_type: EntityType;
  local_id: string;
  external_id: string | null;
  fields: string[];
  detected_at: string;
}

export async function listConflicts(pool: Pool): Promise<ConflictListItem[]> {
  const { rows } = await pool.query<{ external_system: string; entity_type: EntityType; local_id: string; external_id: string | null; conflict: OpenConflict }>(
    `SELECT external_system, entity_type, local_id, external_id, conflict FROM sync_registry
     WHERE sync_status = 'conflict' AND conflict IS NOT NULL ORDER BY (conflict->>'detected_at'), id`,
  );
  return rows.map((r) => ({
    system: r.external_system,
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

/**
 * Applies a decision: writes the losing side(s), marks the registry synced, records the decision
 * (with both sides' values) in last_resolution, and publishes a `resolved` event.
 */
export async function applyResolution(
  pool: Pool, connector: Connector, system: string, type: EntityType, localId: string, input: ResolutionInput,
): Promise<ConflictResult> {
  const details = await loadConflict(pool, system, type, localId);
  if (!details || (details.status !== 'conflict' && details.status !== 'pending')) {
    throw ApplicationFailure.create({ type: ConflictErrors.NotOpen, message: `no open conflict for ${system} ${type} ${localId}`, nonRetryable: true });
  }
  // The person decided on what they saw; a later local edit is what "local" means now.
  const spec = ENTITIES[type];
  const { rows: current } = await pool.query(`SELECT * FROM ${spec.table} WHERE id = $1`, [localId]);
  if (!current[0]) throw ApplicationFailure.create({ type: ConflictErrors.NotOpen, message: `local ${type} ${localId} no longer exists`, nonRetryable: true });
  const decision = decide(details, input);
  const now = new Date().toISOString();

  // 1. The external side.
  let wroteExternal = false;
  let externalUpdatedAt = details.external.updated_at;
  const externalId = details.externalId!;
  if (decision.deleted) {
    const [out] = await connector.delete(type, [{ localId, externalId }]);
    if (!out?.ok) throw ApplicationFailure.create({ type: ConflictErrors.Invalid, message: `HubSpot refused the archive: ${out && !out.ok ? out.error : ''}`, nonRetryable: true });
    wroteExternal = true;
    externalUpdatedAt = out.updatedAt;
  } else {
    const changed = changedFields(decision.values, details.external.values);
    if (changed.length) {
      const [sendable, previous] = [{ ...decision.values }, { ...details.external.values }];
      await translateRefs(pool, system, type, [sendable, previous], 'external');
      const [out] = await connector.update(type, [{ localId, externalId, fields: sendable, previous, changed }]);
      if (!out?.ok) throw ApplicationFailure.create({ type: ConflictErrors.Invalid, message: `HubSpot refused the update: ${out && !out.ok ? out.error : ''}`, nonRetryable: true });
      wroteExternal = true;
      externalUpdatedAt = out.updatedAt;
    }
  }

  // 2. The local side, the registry and the event, together.
  return withTx(pool, async (c) => {
    const { rows: regRows } = await c.query<RegistryRow>(
      'SELECT * FROM sync_registry WHERE external_system = $1 AND entity_type = $2 AND local_id = $3 FOR UPDATE',
      [system, type, localId],
    );
    const reg = regRows[0]!;
    const cols = Object.keys(spec.fields).filter((f) => !spec.joins?.[f]);
    const { rows } = await c.query<{ version: number; updated_at: Date }>(
      `UPDATE ${spec.table} SET ${cols.map((f, i) => `${f} = $${i + 2}`).join(', ')},
         deleted_at = ${decision.deleted ? 'COALESCE(deleted_at, clock_timestamp())' : 'NULL'}
       WHERE id = $1 RETURNING version, updated_at`,
      [localId, ...cols.map((f) => decision.values[f] ?? null)],
    );
    await writeJoins(c, type, [{ id: localId, ...decision.values }]);
    const { rows: fin } = await c.query<{ version: number; updated_at: Date }>(`SELECT version, updated_at FROM ${spec.table} WHERE id = $1`, [localId]);
    const wroteLocal = fin[0]!.version !== Number(current[0].version) || rows[0]!.version !== Number(current[0].version);
    const result: ConflictResult = {
      outcome: 'resolved',
      summary: `${input.byPolicy ? 'resolved by policy' : `resolved by ${input.resolvedBy}`}: kept ${decision.winner}${
        input.comment ? ` (${input.comment})` : ''
      }`,
      choice: input.choice,
      resolvedBy: input.resolvedBy,
      comment: input.comment,
      byPolicy: Boolean(input.byPolicy),
      values: decision.values,
      wroteLocal,
      wroteExternal,
      at: now,
    };
    const externalVersion = (reg.external_version ?? 0) + (wroteExternal ? 1 : 0);
    await writeRegistry(c, system, type, [
      {
        local_id: localId, external_id: externalId, local_version: fin[0]!.version, external_version: externalVersion,
        sync_status: 'synced', error_message: null,
        synced_hash: decision.deleted ? null : contentHash(decision.values), synced_snapshot: decision.deleted ? null : decision.values,
        external_updated_at: externalUpdatedAt, local_updated_at: toIso(fin[0]!.updated_at), deleted: decision.deleted,
        last_resolution: {
          policy: input.byPolicy ? 'policy' : 'manual', choice: input.choice, winner: decision.winner, resolved_by: input.resolvedBy,
          comment: input.comment ?? null, at: now, fields: details.fields,
          local: details.local, external: details.external, base: details.base, final: decision.values,
        },
        synced: true, conflict: null,
      },
    ]);
    await enqueueEvents(c, [
      {
        action: 'resolved', source: system, entity_type: type, entity_id: localId, timestamp: now, direction: 'resolution',
        external_id: externalId, local_version: fin[0]!.version, external_version: externalVersion,
      },
    ]);
    return result;
  });
}
