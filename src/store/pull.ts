/**
 * The pull data plane: applying a page of external records and deletions to a local table and the
 * registry. Per page, in one transaction: a few keyed reads (registry, local rows, natural-key
 * matches), the decisions of the pure `planPage()` (per record `reconcile()`), then one statement
 * that writes the new rows, the changed rows, the registry and the outbox (join tables: two more).
 */
import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import type { ConflictPolicy } from '../config';
import { contentHash } from '../core/hash';
import { columnFields, refFields, type Canonical } from '../core/model';
import type { OpenConflict } from '../core/reconcile';
import type { ExternalDeletion, ExternalRecord } from '../connectors/types';
import { withTx } from './db';
import { loadLocal, params, recordsetColumns, selectFields, connectionFilter, translateRefs, writeJoins, type LocalRow } from './local';
import { enqueueEvents, outboxInsertSql, outboxRows } from './outbox';
import { completePage, planPage, type PagePlan } from './pull-plan';
import { keepRegistry, registryRowsJson, registryUpsertSql, toIso, writeRegistry, type RegistryRow, type RegistryWrite, type Scope } from './registry';

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

export function addCounts<T extends object>(total: T, more: Partial<T>): T {
  for (const [k, v] of Object.entries(more)) {
    if (typeof v === 'number') (total as Record<string, number>)[k] = ((total as Record<string, number>)[k] ?? 0) + v;
  }
  return total;
}

export interface PullOptions {
  /** how a record changed on both sides is decided (default last-write-wins) */
  policy?: ConflictPolicy;
  /** out: local ids of conflicts opened or changed by this page (their workflows need a nudge) */
  conflicts?: string[];
  /** out: local ids of conflicts this page closed (an operator retry): their workflows finish */
  closed?: string[];
}

const LWW: ConflictPolicy = { policy: 'last-write-wins', fallback: 'last-write-wins' };

/**
 * Applies one page of external records: per record, reconcile() decides (unchanged, create,
 * update, last-write-wins, merge, open a conflict…); the outcome is written set-based.
 */
export async function applyPulledPage(pool: Pool, scope: Scope, input: ExternalRecord[], opts: PullOptions = {}): Promise<PullCounts> {
  const { system, connection, spec } = scope;
  const counts = emptyPullCounts();
  counts.fetched = input.length;
  if (!input.length) return counts;

  return pageTx(pool, async (c) => {
    // Associations arrive as external ids: bring them into Aurora's id space first.
    let records = input.map((r) => ({ ...r, fields: { ...r.fields } }));
    await translateRefs(c, scope, records.map((r) => r.fields), 'local');
    const extIds = records.map((r) => r.externalId);
    const auroraIds = records.map((r) => r.auroraId).filter((x): x is string => Boolean(x));
    // One unique-index probe per id, then the rows locked in id order. (`id = ANY($1)` on a table
    // without statistics yet — a backfill — is priced as a scan of the whole type.)
    const { rows: registry } = await c.query<RegistryRow>(
      `WITH ids AS (
         SELECT x.id FROM unnest($3::text[]) AS k(id) CROSS JOIN LATERAL (
           SELECT r.id FROM sync_registry r WHERE r.external_system = $1 AND r.connection = $5 AND r.entity_type = $2 AND r.external_id = k.id LIMIT 1) x
         UNION
         SELECT x.id FROM unnest($4::text[]) AS k(id) CROSS JOIN LATERAL (
           SELECT r.id FROM sync_registry r WHERE r.local_id = k.id AND r.external_system = $1 AND r.entity_type = $2 LIMIT 1) x)
       SELECT r.* FROM (SELECT id FROM ids ORDER BY id) s
       CROSS JOIN LATERAL (SELECT * FROM sync_registry r WHERE r.id = s.id FOR UPDATE) r`,
      [system, spec.type, extIds, auroraIds, connection],
    );
    const linked = new Set(registry.filter((r) => r.external_id && r.connection === connection).map((r) => r.external_id!));
    records = keepUnread(records, registry, connection);
    const locals = await loadLocal(c, spec, [...new Set([...registry.map((r) => r.local_id), ...auroraIds])]);
    const matched = await matchByNaturalKey(c, scope, records.filter((r) => !linked.has(r.externalId) && !(r.auroraId && locals.has(r.auroraId))));

    const page = { system, connection, spec, policy: opts.policy ?? LWW, records, registry, locals, matched, now: new Date().toISOString(), newId: randomUUID };
    const plan = planPage(page);
    opts.conflicts?.push(...plan.opened);
    opts.closed?.push(...plan.closed);
    counts.unchanged = plan.unchanged;
    counts.skipped = plan.skipped;
    counts.conflicts = plan.conflicts;

    const done = completePage(page, plan);
    counts.created = done.created;
    counts.updated = done.updated;
    await writePage(c, scope, plan, done);
    return counts;
  });
}

/**
 * Fields a read left out (ExternalRecord.kept: a property-only webhook's associations) take the
 * values of the last sync, so leaving them unread is no change. The caller asks for that only of
 * records with a snapshot; one whose snapshot is gone meanwhile (a concurrent push error or
 * deletion) is left out of this page, for the next read of it whole (the polling cycle's), rather
 * than taken with its associations empty.
 */
function keepUnread<R extends ExternalRecord>(records: R[], registry: RegistryRow[], connection: string): R[] {
  if (!records.some((r) => r.kept?.length)) return records;
  const snapshots = new Map(registry.filter((r) => r.external_id && r.connection === connection && r.synced_snapshot).map((r) => [r.external_id!, r.synced_snapshot!]));
  return records.filter((r) => {
    if (!r.kept?.length) return true;
    const snap = snapshots.get(r.externalId);
    if (!snap) return false;
    for (const f of r.kept) r.fields[f] = snap[f] ?? null;
    return true;
  });
}

/**
 * Writes a page: its new and changed rows, their registry entries and their events, as one
 * statement of data-modifying CTEs (one round trip, each table written once): the registry entries
 * and events take the versions Postgres gives the rows from the rows' RETURNING. A type with join
 * tables writes its rows first and the joins next (join changes bump the rows' versions), then the
 * registry entries and events, with the rows' final versions, in one statement.
 */
async function writePage(c: PoolClient, scope: Scope, plan: PagePlan, done: ReturnType<typeof completePage>): Promise<void> {
  const { spec } = scope;
  const fields = columnFields(spec);
  const cols = recordsetColumns(spec);
  const insertCols = spec.connectionColumn ? [...fields, spec.connectionColumn] : fields;
  const rowsWritten = plan.inserts.length > 0 || plan.updates.length > 0;
  let q = params();
  const ctes: string[] = [];
  const written: string[] = [];
  if (plan.inserts.length) {
    ctes.push(`ins AS (INSERT INTO ${spec.table} (id, ${insertCols.join(', ')})
       SELECT id, ${insertCols.join(', ')} FROM jsonb_to_recordset(${q.p(JSON.stringify(plan.inserts))}::jsonb) AS x(${cols})
       ON CONFLICT (id) DO UPDATE SET ${fields.map((f) => `${f} = EXCLUDED.${f}`).join(', ')}, deleted_at = NULL
       RETURNING id, version, updated_at)`);
    written.push('SELECT id, version, updated_at FROM ins');
  }
  if (plan.updates.length) {
    ctes.push(`upd AS (UPDATE ${spec.table} t SET ${fields.map((f) => `${f} = x.${f}`).join(', ')}, deleted_at = NULL
       FROM jsonb_to_recordset(${q.p(JSON.stringify(plan.updates))}::jsonb) AS x(${cols})
       WHERE t.id = x.id RETURNING t.id, t.version, t.updated_at)`);
    written.push('SELECT id, version, updated_at FROM upd');
  }
  if (spec.joins && rowsWritten) {
    await c.query(`WITH ${ctes.join(',\n')} SELECT 1`, q.values);
    await writeJoins(c, spec, [...plan.inserts, ...plan.updates]);
    // the rows' final versions, after the joins bumped them
    q = params();
    ctes.length = 0;
    written.length = 0;
    written.push(`SELECT id, version, updated_at FROM ${spec.table} WHERE id = ANY(${q.p(plan.pending.map((w) => w.localId))}::text[])`);
  }
  if (written.length) ctes.push(`w AS (${written.join(' UNION ALL ')})`);
  const w = written.length ? 'w' : undefined;
  if (done.registry.length) {
    const reg = registryUpsertSql({ system: q.p(scope.system), type: q.p(spec.type), connection: q.p(scope.connection), rows: q.p(registryRowsJson(done.registry)), written: w });
    ctes.push(`reg AS (${reg})`);
  }
  if (done.events.length) ctes.push(`ev AS (${outboxInsertSql(q.p(outboxRows(done.events)), w)})`);
  if (ctes.length) await c.query(`WITH ${ctes.join(',\n')} SELECT 1`, q.values);
}

/**
 * A page's transaction. Its lookups are by key for a few hundred ids (`= ANY($1)`); with the
 * default random_page_cost (4, spinning disks) the planner prefers a sequential scan of the whole
 * table to 200 index probes until the table is several times larger than the page, which made a
 * backfill's pages slower as the table grew (4 ms per lookup at 20,000 rows). The data is cached
 * or on SSD: price random reads as such for this transaction only.
 */
export function pageTx<T>(pool: Pool, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  return withTx(pool, fn, 'BEGIN; SET LOCAL random_page_cost = 1.1');
}

/** Records new to the registry matched to an existing unlinked local row by the spec's natural key. */
async function matchByNaturalKey(c: PoolClient, scope: Scope, candidates: ExternalRecord[]): Promise<Map<string, LocalRow>> {
  const { spec } = scope;
  const matched = new Map<string, LocalRow>();
  const key = spec.matchBy;
  if (!key) return matched;
  const values = [...new Set(candidates.map((r) => (r.fields[key] ?? '').toLowerCase()).filter(Boolean))];
  if (!values.length) return matched;
  // One index probe per key (the oldest unlinked live row), not a scan filtered by a list: without
  // statistics on the expression the planner prices 200 keys as the whole table.
  const { rows } = await c.query<LocalRow & { aurora_match_key: string }>(
    `SELECT k.key AS aurora_match_key, m.* FROM unnest($1::text[]) AS k(key)
     CROSS JOIN LATERAL (
       SELECT t.id, ${selectFields(spec)}, t.version, t.updated_at, t.deleted_at FROM ${spec.table} t
        WHERE lower(t.${key}) = k.key AND t.deleted_at IS NULL${connectionFilter(spec, '$4')}
          AND NOT EXISTS (SELECT 1 FROM sync_registry r WHERE r.local_id = t.id AND r.external_system = $2
                            AND r.entity_type = $3 AND r.external_id IS NOT NULL)
        ORDER BY t.created_at, t.id LIMIT 1 FOR UPDATE OF t) m`,
    [values, scope.system, spec.type, ...(spec.connectionColumn ? [scope.connection] : [])],
  );
  for (const { aurora_match_key: k, ...r } of rows) matched.set(k, r);
  return matched;
}

/**
 * Applies external deletions: soft-deletes the local rows and tombstones the registry, unless the
 * local row was edited after the deletion (last write wins: push creates it again). A deleted
 * record's associations end on the Aurora side too, as they did on the external side: the records
 * pointing at it are updated and announced.
 */
export async function applyExternalDeletions(pool: Pool, scope: Scope, deletions: ExternalDeletion[], reason = 'deleted'): Promise<number> {
  if (!deletions.length) return 0;
  const { system, spec } = scope;
  const deletedAt = new Map(deletions.map((r) => [r.externalId, r.deletedAt ? Date.parse(r.deletedAt) : Date.now()]));
  return withTx(pool, async (c) => {
    const { rows: regs } = await c.query<RegistryRow>(
      `SELECT * FROM sync_registry WHERE external_system = $1 AND connection = $4 AND entity_type = $2 AND external_id = ANY($3::text[])
         AND NOT deleted AND sync_status <> 'conflict' FOR UPDATE`,
      [system, spec.type, [...deletedAt.keys()], scope.connection],
    );
    if (!regs.length) return 0;
    const { rows: locals } = await c.query<{ id: string; version: number; updated_at: Date; deleted_at: Date | null }>(
      `SELECT id, version, updated_at, deleted_at FROM ${spec.table} WHERE id = ANY($1::text[]) FOR UPDATE`,
      [regs.map((r) => r.local_id)],
    );
    const local = new Map(locals.map((l) => [l.id, l]));
    const kept = regs.filter((r) => {
      const l = local.get(r.local_id);
      return l && !l.deleted_at && l.version > (r.local_version ?? 0) && new Date(l.updated_at).getTime() > (deletedAt.get(r.external_id!) ?? 0);
    });
    const keptIds = new Set(kept.map((r) => r.local_id));
    const gone = regs.filter((r) => !keptIds.has(r.local_id));
    const now = new Date().toISOString();
    const { rows: deleted } = gone.length
      ? await c.query<{ id: string; version: number; updated_at: Date }>(
          `UPDATE ${spec.table} SET deleted_at = COALESCE(deleted_at, clock_timestamp())
           WHERE id = ANY($1::text[]) RETURNING id, version, updated_at`,
          [gone.map((r) => r.local_id)],
        )
      : { rows: [] };
    const byId = new Map(deleted.map((d) => [d.id, d]));
    await writeRegistry(c, scope, [
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
          policy: 'last-write-wins', winner: 'local', at: now, reason: `edited in Aurora after it was ${reason} in ${system}`,
          external: { id: r.external_id, deleted_at: new Date(deletedAt.get(r.external_id!) ?? 0).toISOString() },
        },
      })),
    ]);
    await enqueueEvents(
      c,
      gone.map((r) => ({
        action: 'deleted' as const, source: system, entity_type: spec.type, entity_id: r.local_id, timestamp: now,
        direction: 'pull' as const, external_id: r.external_id, local_version: byId.get(r.local_id)?.version ?? null,
        external_version: (r.external_version ?? 0) + 1,
      })),
    );
    await endAssociations(c, scope, gone.map((r) => r.local_id), now);
    return gone.length;
  });
}

/**
 * Records of the same system that point at deleted records lose those associations, as the
 * external side dropped them. Where such a record was in sync, its registry follows (nothing to
 * push) and an `updated` event announces it; where it has unsent local changes, push sends them.
 */
async function endAssociations(c: PoolClient, scope: Scope, deletedIds: string[], now: string): Promise<void> {
  if (!deletedIds.length) return;
  for (const owner of scope.specs) {
    for (const [field, target, kind] of refFields(owner)) {
      if (target !== scope.spec.type) continue;
      const join = owner.joins?.[field];
      // Versions before the change, to tell rows that were in sync from rows with unsent edits.
      const { rows: before } = await c.query<{ id: string; version: number }>(
        join
          ? `SELECT t.id, t.version FROM ${owner.table} t WHERE t.id IN (SELECT j.${join.own} FROM ${join.table} j WHERE j.${join.target} = ANY($1::text[])) FOR UPDATE`
          : `SELECT id, version FROM ${owner.table} WHERE ${field} = ANY($1::text[]) FOR UPDATE`,
        [deletedIds],
      );
      if (!before.length) continue;
      if (join) await c.query(`DELETE FROM ${join.table} WHERE ${join.target} = ANY($1::text[])`, [deletedIds]);
      else await c.query(`UPDATE ${owner.table} SET ${field} = NULL WHERE ${field} = ANY($1::text[])`, [deletedIds]);
      const ownerScope: Scope = { ...scope, spec: owner };
      const { rows: regs } = await c.query<RegistryRow>(
        `SELECT * FROM sync_registry WHERE external_system = $1 AND connection = $2 AND entity_type = $3 AND local_id = ANY($4::text[])
           AND NOT deleted AND sync_status = 'synced' AND synced_snapshot IS NOT NULL FOR UPDATE`,
        [scope.system, scope.connection, owner.type, before.map((r) => r.id)],
      );
      const versionBefore = new Map(before.map((r) => [r.id, r.version]));
      const inSync = regs.filter((r) => (r.local_version ?? 0) >= (versionBefore.get(r.local_id) ?? 0));
      if (!inSync.length) continue;
      const { rows: after } = await c.query<{ id: string; version: number; updated_at: Date }>(
        `SELECT id, version, updated_at FROM ${owner.table} WHERE id = ANY($1::text[])`,
        [inSync.map((r) => r.local_id)],
      );
      const fin = new Map(after.map((r) => [r.id, r]));
      const gone = new Set(deletedIds);
      const writes: RegistryWrite[] = inSync.map((r) => {
        const snapshot: Canonical = { ...r.synced_snapshot! };
        const kept = (snapshot[field] ?? '').split(',').filter((id) => id && !gone.has(id)); // snapshots hold Aurora ids
        snapshot[field] = kind === 'ref' ? (kept[0] ?? null) : kept.length ? kept.join(',') : null;
        return {
          ...keepRegistry(r), local_version: fin.get(r.local_id)!.version, external_version: (r.external_version ?? 0) + 1,
          synced_hash: contentHash(snapshot), synced_snapshot: snapshot, local_updated_at: toIso(fin.get(r.local_id)!.updated_at), synced: true,
        };
      });
      await writeRegistry(c, ownerScope, writes);
      await enqueueEvents(
        c,
        inSync.map((r) => ({
          action: 'updated' as const, source: scope.system, entity_type: owner.type, entity_id: r.local_id, timestamp: now,
          direction: 'pull' as const, external_id: r.external_id, local_version: fin.get(r.local_id)!.version, external_version: (r.external_version ?? 0) + 1,
        })),
      );
    }
  }
}

/** Registry rows of a connection and type that a full listing did not see: candidates for deletion. */
export async function unseenRecords(pool: Pool, scope: Scope, seen: ReadonlySet<string>): Promise<{ missing: string[]; total: number }> {
  const { rows } = await pool.query<{ external_id: string }>(
    `SELECT external_id FROM sync_registry WHERE external_system = $1 AND connection = $2 AND entity_type = $3
       AND NOT deleted AND external_id IS NOT NULL AND sync_status <> 'conflict'`,
    [scope.system, scope.connection, scope.spec.type],
  );
  return { missing: rows.map((r) => r.external_id).filter((id) => !seen.has(id)), total: rows.length };
}

export type { OpenConflict };

