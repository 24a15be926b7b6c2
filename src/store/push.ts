/**
 * The push data plane: selecting local changes (version ahead of the registry) and recording the
 * outcome of writing them — registry rows and events — set-based.
 */
import type { Pool } from 'pg';
import { contentHash } from '../core/hash';
import { changedFields, columnFields, type Canonical, type EntitySpec } from '../core/model';
import { recordKeys, type PageKeys } from '../core/pipeline';
import type { OpenConflict } from '../core/reconcile';
import type { WriteOutcome } from '../connectors/types';
import { withTx } from './db';
import { connectionFilter, localCanonical, params, recordsetColumns, recordsetRow, selectFields, type LocalRow } from './local';
import { outboxInsertSql, outboxRows, type SyncEvent } from './outbox';
import { registryRowsJson, registryUpsertSql, toIso, type RegistryRow, type RegistryWrite, type Scope } from './registry';

export interface PushCounts {
  selected: number;
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
  errors: number;
  /** writes the external side refused because it changed meanwhile (412), decided by the conflict policy */
  conflicts?: number;
  /** pull-only types: local edits that are not sent */
  ignoredLocalEdits?: number;
}
export const emptyPushCounts = (): PushCounts => ({ selected: 0, created: 0, updated: 0, deleted: 0, unchanged: 0, errors: 0 });

export interface PushCandidate {
  /** registry sync_status, when the record has a registry row */
  status?: RegistryRow['sync_status'];
  localId: string;
  version: number;
  updatedAt: Date;
  deleted: boolean;
  fields: Canonical;
  hash: string;
  reg: Pick<RegistryRow, 'external_id' | 'local_version' | 'external_version' | 'synced_hash' | 'synced_snapshot' | 'deleted' | 'external_etag'> | null;
}

const CANDIDATES = `
  ((r.id IS NULL AND t.deleted_at IS NULL)
   OR (r.id IS NOT NULL AND r.sync_status <> 'conflict' AND NOT r.deleted
       AND (t.version > COALESCE(r.local_version, 0) OR r.sync_status = 'pending'))
   -- deleted on both sides, then restored in Aurora: create it again
   OR (r.id IS NOT NULL AND r.deleted AND t.deleted_at IS NULL AND t.version > COALESCE(r.local_version, 0)))`;

/**
 * Local rows whose version is ahead of the registry (or never synced), in id order after `afterId`.
 * Records in conflict and records already deleted on both sides are left alone.
 */
export async function selectPushCandidates(pool: Pool, scope: Scope, afterId: string, limit: number): Promise<PushCandidate[]> {
  const { spec } = scope;
  // Rows in id order by the primary key, each with its registry row by the unique key, never a scan
  // of the whole table and the registry: a plan priced on statistics a backfill has not produced
  // yet hashed or sorted them all for every batch (47-90 ms a batch of 100 at 20,000 rows). The
  // settings last for this read-only transaction only.
  const { rows } = await withTx(pool, (c) => c.query<LocalRow & { external_id: string | null; reg_local_version: number | null; reg_id: number | null; external_version: number | null; synced_hash: string | null; synced_snapshot: Canonical | null; reg_deleted: boolean | null; sync_status: RegistryRow['sync_status'] | null; external_etag: string | null }>(
    `SELECT t.id, ${selectFields(spec)}, t.version, t.updated_at, t.deleted_at,
            r.id AS reg_id, r.external_id, r.local_version AS reg_local_version, r.external_version, r.synced_hash, r.synced_snapshot,
            r.sync_status, r.deleted AS reg_deleted, r.external_etag
     FROM ${spec.table} t
     LEFT JOIN LATERAL (SELECT * FROM sync_registry r WHERE r.local_id = t.id AND r.external_system = $1 AND r.entity_type = $2 LIMIT 1) r ON TRUE
     WHERE t.id > $3 AND (r.id IS NULL OR r.connection = $5)${connectionFilter(spec, '$5')} AND ${CANDIDATES}
     ORDER BY t.id LIMIT $4`,
    [scope.system, spec.type, afterId, limit, scope.connection],
  ), 'BEGIN READ ONLY; SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off');
  return rows.map((r) => {
    const fields = localCanonical(spec, r);
    return {
      localId: r.id, version: r.version, status: r.sync_status ?? undefined, updatedAt: r.updated_at, deleted: r.deleted_at !== null, fields, hash: contentHash(fields),
      reg: r.reg_id === null ? null : {
        external_id: r.external_id, local_version: r.reg_local_version, external_version: r.external_version, synced_hash: r.synced_hash,
        synced_snapshot: r.synced_snapshot, deleted: Boolean(r.reg_deleted), external_etag: r.external_etag,
      },
    };
  });
}

/** Pull-only types: how many local rows changed since the last sync (they are not sent). */
export async function countLocalEdits(pool: Pool, scope: Scope): Promise<number> {
  const { spec } = scope;
  const { rows } = await pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM ${spec.table} t
     JOIN sync_registry r ON r.local_id = t.id AND r.external_system = $1 AND r.entity_type = $2 AND r.connection = $3
     WHERE NOT r.deleted AND t.version > COALESCE(r.local_version, 0)${connectionFilter(spec, '$3')}`,
    [scope.system, spec.type, scope.connection],
  );
  return Number(rows[0]!.n);
}

export type PushKind = 'created' | 'updated' | 'deleted' | 'unchanged';
export interface PushItem {
  candidate: PushCandidate;
  kind: PushKind;
  outcome?: WriteOutcome;
  /** some associations point at records not synced yet: keep the record pending so it goes again */
  unresolved?: boolean;
}

/**
 * Records the outcome of a push batch: registry rows, and events for what changed externally, in
 * one statement (one round trip, atomic on its own). It is first tried as if no answered external
 * id were linked to another Aurora row (the registry's unique index on external ids refuses the
 * write if one is): only then are the links looked up, and such a row recorded as a duplicate.
 */
export async function recordPushOutcomes(pool: Pool, scope: Scope, items: PushItem[]): Promise<PushCounts> {
  if (!items.length) return emptyPushCounts();
  try {
    return await writeOutcomes(pool, scope, items, new Map());
  } catch (err) {
    if ((err as { code?: unknown }).code !== '23505') throw err; // unique_violation
  }
  return writeOutcomes(pool, scope, items, await linkedElsewhere(pool, scope, items));
}

/** recordPushOutcomes, given the answered external ids that the registry links to a local row (→ that row). */
async function writeOutcomes(pool: Pool, scope: Scope, items: PushItem[], taken: ReadonlyMap<string, string>): Promise<PushCounts> {
  const { system, spec } = scope;
  const counts = emptyPushCounts();
  counts.selected = items.length;
  const regWrites: RegistryWrite[] = [];
  const events: SyncEvent[] = [];
  const now = new Date().toISOString();
  for (const item of items) {
    const { candidate: cand, kind, unresolved } = item;
    let { outcome } = item;
    const other = outcome?.ok ? taken.get(outcome.externalId) : undefined;
    if (outcome?.ok && other && other !== cand.localId) {
      // The external system answered with a record another Aurora row is linked to (e.g. a create
      // adopted an existing record by name): this row is a duplicate of that one.
      outcome = {
        localId: cand.localId,
        ok: false,
        error: `the external record ${outcome.externalId} is already linked to Aurora record ${other}: this row duplicates it (merge the two or delete this one)`,
      };
      item.outcome = outcome;
    }
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
    // A create that found its record already there is announced as `created` when nothing was
    // announced for it yet (no link in the registry: e.g. the worker died after the write, before
    // the registry row), and as `updated` when it re-links a record consumers already know.
    const action = kind === 'deleted' ? 'deleted' : outcome.created === false && kind === 'created' && cand.reg?.external_id ? 'updated' : kind;
    counts[kind]++;
    const extVersion = prevExtVersion + 1;
    regWrites.push({
      local_id: cand.localId, external_id: outcome.externalId, local_version: cand.version, external_version: extVersion,
      sync_status: unresolved ? 'pending' : 'synced',
      error_message: unresolved ? 'waiting for associated records to sync' : null,
      synced_hash: kind === 'deleted' ? null : contentHash(outcome.fields),
      synced_snapshot: kind === 'deleted' ? null : outcome.fields,
      external_updated_at: outcome.updatedAt, local_updated_at: toIso(cand.updatedAt), deleted: kind === 'deleted',
      last_resolution: null, synced: true, external_etag: outcome.etag ?? null,
    });
    events.push({
      action, source: system, entity_type: spec.type, entity_id: cand.localId, timestamp: now, direction: 'push',
      external_id: outcome.externalId, local_version: cand.version, external_version: extVersion,
    });
  }
  const q = params();
  const ctes = adoptExternalValues(scope, items, regWrites, q.p);
  if (regWrites.length) {
    const w = ctes.length ? 'w' : undefined;
    ctes.push(`reg AS (${registryUpsertSql({ system: q.p(system), type: q.p(spec.type), connection: q.p(scope.connection), rows: q.p(registryRowsJson(regWrites)), written: w })})`);
  }
  if (events.length) ctes.push(`ev AS (${outboxInsertSql(q.p(outboxRows(events)))})`);
  if (ctes.length) await pool.query(`WITH ${ctes.join(',\n')} SELECT 1`, q.values);
  return counts;
}

/** Of the external ids these outcomes name, the ones the registry links to a local row (→ that row). */
async function linkedElsewhere(pool: Pool, scope: Scope, items: PushItem[]): Promise<Map<string, string>> {
  const ids = [...new Set(items.flatMap((i) => (i.outcome?.ok && i.kind !== 'deleted' && i.outcome.externalId !== i.candidate.reg?.external_id ? [i.outcome.externalId] : [])))];
  if (!ids.length) return new Map();
  const { rows } = await pool.query<{ local_id: string; external_id: string }>(
    'SELECT local_id, external_id FROM sync_registry WHERE external_system = $1 AND connection = $2 AND entity_type = $3 AND external_id = ANY($4::text[])',
    [scope.system, scope.connection, scope.spec.type, ids],
  );
  return new Map(rows.map((r) => [r.external_id, r.local_id]));
}

/**
 * Values the external side set itself when it took a write (computed or normalised fields: an
 * organizer, a link, a formatted phone) are taken into the local row, so both sides hold the same
 * record — unless the row changed again meanwhile (its newer change goes out next). Associations
 * are left alone (one not synced yet is simply absent from what was sent). Answers the CTEs of
 * the statement that records the batch: `adopt` (the update) and `w`, each adopting candidate's
 * version and updated_at after it (the new ones where the update took); their registry entries
 * take them from `w`.
 */
function adoptExternalValues(scope: Scope, items: PushItem[], regWrites: RegistryWrite[], p: (v: unknown) => string): string[] {
  const { spec } = scope;
  const plain = columnFields(spec).filter((f) => spec.fields[f] !== 'ref' && spec.fields[f] !== 'refs');
  const rows: Record<string, unknown>[] = [];
  for (const { candidate, kind, outcome } of items) {
    if ((kind !== 'created' && kind !== 'updated') || !outcome?.ok) continue;
    const diff = changedFields(candidate.fields, outcome.fields).filter((f) => plain.includes(f) && f in outcome.fields);
    if (!diff.length) continue;
    const values: Canonical = { ...candidate.fields };
    for (const f of diff) values[f] = outcome.fields[f] ?? null;
    rows.push({ ...recordsetRow(spec, candidate.localId, values), version: candidate.version, updated_at: toIso(candidate.updatedAt) });
  }
  if (!rows.length) return [];
  const adopting = new Set(rows.map((r) => r.id));
  for (const w of regWrites) {
    if (adopting.has(w.local_id) && w.sync_status !== 'error') Object.assign(w, { local_version: null, from_row: true });
  }
  const param = p(JSON.stringify(rows));
  return [
    `adopt AS (UPDATE ${spec.table} t SET ${plain.map((f) => `${f} = x.${f}`).join(', ')}
     FROM jsonb_to_recordset(${param}::jsonb) AS x(${recordsetColumns(spec)}, version int)
     WHERE t.id = x.id AND t.version = x.version RETURNING t.id, t.version, t.updated_at)`,
    `w AS (SELECT x.id, COALESCE(a.version, x.version) AS version, COALESCE(a.updated_at, x.updated_at) AS updated_at
     FROM jsonb_to_recordset(${param}::jsonb) AS x(id text, version int, updated_at timestamptz) LEFT JOIN adopt a ON a.id = x.id)`,
  ];
}

/** Local edits to records with an open conflict: refresh the conflict's local snapshot. Returns their ids. */
export async function refreshConflictSnapshots(pool: Pool, scope: Scope): Promise<string[]> {
  const { spec } = scope;
  const { rows } = await pool.query<LocalRow & { conflict: OpenConflict }>(
    `SELECT t.id, ${selectFields(spec)}, t.version, t.updated_at, t.deleted_at, r.conflict
     FROM ${spec.table} t JOIN sync_registry r ON r.local_id = t.id AND r.external_system = $1 AND r.entity_type = $2 AND r.connection = $3
     WHERE r.sync_status = 'conflict' AND r.conflict IS NOT NULL AND t.version > (r.conflict->'local'->>'version')::int`,
    [scope.system, spec.type, scope.connection],
  );
  for (const row of rows) {
    const values = localCanonical(spec, row);
    const conflict: OpenConflict = {
      ...row.conflict,
      fields: changedFields(values, row.conflict.external.values),
      local: { values, version: row.version, updated_at: toIso(row.updated_at), deleted: row.deleted_at !== null },
    };
    await pool.query(
      `UPDATE sync_registry SET conflict = $4::jsonb, updated_at = now()
       WHERE external_system = $1 AND entity_type = $2 AND local_id = $3 AND sync_status = 'conflict'`,
      [scope.system, spec.type, row.id, JSON.stringify(conflict)],
    );
  }
  return rows.map((r) => r.id);
}

/** Conflicts an operator set back to 'pending' (the design's runbook): retried by last-write-wins. */
export async function operatorRetries(pool: Pool, scope: Scope): Promise<string[]> {
  const { rows } = await pool.query<{ local_id: string }>(
    `SELECT local_id FROM sync_registry WHERE external_system = $1 AND connection = $3 AND entity_type = $2 AND sync_status = 'pending' AND conflict IS NOT NULL`,
    [scope.system, scope.spec.type, scope.connection],
  );
  return rows.map((r) => r.local_id);
}

/**
 * What a push batch names, for sending batches at once (core/pipeline.ts): its rows (and natural
 * keys, by which a create may adopt a record), and the rows of its own type it points at, whose
 * external ids exist only once those are sent.
 */
export const pushKeys = (spec: EntitySpec, batch: readonly PushCandidate[]): PageKeys =>
  recordKeys(spec, batch.map((c) => ({ ids: [`a:${c.localId}`], fields: c.fields })), 'a:');
