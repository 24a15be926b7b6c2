/**
 * The decisions of a pulled page, as one pure function over the page: given the page's records
 * (associations already in Aurora ids), the registry rows, local rows and natural-key matches the
 * store loaded for it, what every record becomes — new, newer, unchanged, stale, a conflict, our
 * own write coming back — and so which rows, registry entries and events the store writes, each
 * kind in one statement. No I/O and no clock (`now` and `newId` are passed in); per record it is
 * `reconcile()`.
 */
import type { ConflictPolicy } from '../config';
import { contentHash } from '../core/hash';
import type { EntitySpec } from '../core/model';
import { recordKeys, type PageKeys } from '../core/pipeline';
import { reconcile, type Resolution } from '../core/reconcile';
import type { ExternalRecord } from '../connectors/types';
import { localCanonical, recordsetRow, type LocalRow } from './local';
import type { SyncEvent } from './outbox';
import { keepRegistry, toIso, type RegistryRow, type RegistryWrite } from './registry';

export interface PageInput {
  system: string;
  connection: string;
  spec: EntitySpec;
  policy: ConflictPolicy;
  /** the page, associations in Aurora ids */
  records: ExternalRecord[];
  /** registry rows of the page's external ids (this connection) and of the Aurora ids they carry */
  registry: RegistryRow[];
  /** local rows of those registry rows and Aurora ids */
  locals: ReadonlyMap<string, LocalRow>;
  /** unlinked live local rows by lower-cased natural key (spec.matchBy) */
  matched: ReadonlyMap<string, LocalRow>;
  /** ISO time of the page */
  now: string;
  /** a new local id (randomUUID in the store) */
  newId: () => string;
}

/** A record whose local row the page writes; its registry entry and event follow from the written version. */
export interface PendingWrite {
  rec: ExternalRecord;
  reg?: RegistryRow;
  localId: string;
  hash: string;
  resolution: Resolution | null;
  kind: 'created' | 'updated';
  /** the applied values still differ from the external side: push sends them */
  pushBack?: boolean;
}

export interface PagePlan {
  /** rows to insert (or revive), as jsonb_to_recordset rows */
  inserts: Record<string, unknown>[];
  /** rows to update */
  updates: Record<string, unknown>[];
  pending: PendingWrite[];
  /** registry entries that change without a row write (links, conflicts, local wins) */
  registryOnly: RegistryWrite[];
  conflictEvents: SyncEvent[];
  /** local ids whose conflict workflow needs a start or a nudge */
  opened: string[];
  /** local ids whose conflict an operator retry closed */
  closed: string[];
  unchanged: number;
  skipped: number;
  conflicts: number;
}

export function planPage(input: PageInput): PagePlan {
  const { system, connection, spec, policy, records, registry, locals, now } = input;
  const regByExt = new Map(registry.filter((r) => r.external_id && r.connection === connection).map((r) => [r.external_id!, r]));
  const regByLocal = new Map(registry.map((r) => [r.local_id, r]));
  const matched = new Map(input.matched);
  const matchKey = (rec: ExternalRecord) => (spec.matchBy ? (rec.fields[spec.matchBy] ?? '').toLowerCase() : '');
  const plan: PagePlan = { inserts: [], updates: [], pending: [], registryOnly: [], conflictEvents: [], opened: [], closed: [], unchanged: 0, skipped: 0, conflicts: 0 };

  for (const rec of records) {
    let reg = regByExt.get(rec.externalId);
    // A record we created whose registry row lost its external id (crash between write and commit).
    if (!reg && rec.auroraId) {
      const byLocal = regByLocal.get(rec.auroraId);
      if (byLocal && (!byLocal.external_id || byLocal.external_id === rec.externalId)) reg = byLocal;
    }
    const local: LocalRow | undefined = reg ? locals.get(reg.local_id) : ((rec.auroraId && locals.get(rec.auroraId)) || matched.get(matchKey(rec)));
    if (local && !reg) {
      matched.delete(matchKey(rec)); // one external record per local row
      reg = regByLocal.get(local.id); // e.g. an error row left by a failed create
    }
    const view = local
      ? { id: local.id, values: localCanonical(spec, local), version: local.version, updated_at: toIso(local.updated_at), deleted: local.deleted_at !== null }
      : null;
    const hash = contentHash(rec.fields);
    const d = reconcile({ rec, reg: reg ?? null, local: view, policy, direction: spec.direction, setFields: spec.setFields, now, hash });
    switch (d.kind) {
      case 'held':
        plan.skipped++;
        if (d.refresh) {
          plan.registryOnly.push({ ...keepRegistry(reg!), sync_status: 'conflict', conflict: d.refresh });
          plan.opened.push(reg!.local_id);
        }
        break;
      case 'stale':
        plan.skipped++;
        break;
      case 'unchanged':
        plan.unchanged++;
        break;
      case 'create': {
        // New to Aurora (or its local row is gone): create it, keyed by the Aurora id when the external side carries one.
        const localId = d.localId ?? rec.auroraId ?? input.newId();
        plan.inserts.push(recordsetRow(spec, localId, rec.fields, connection));
        plan.pending.push({ rec, reg, localId, hash, resolution: null, kind: 'created' });
        break;
      }
      case 'agree':
        // Both sides already agree (e.g. the same edit on both, or a first link): record it, change nothing.
        plan.registryOnly.push({
          local_id: view!.id, external_id: rec.externalId, local_version: view!.version,
          external_version: reg?.external_id ? (reg.external_version ?? 0) + (reg.synced_hash === hash ? 0 : 1) : 1,
          sync_status: 'synced', error_message: null, synced_hash: hash, synced_snapshot: rec.fields,
          external_updated_at: rec.updatedAt, local_updated_at: view!.updated_at, deleted: false,
          last_resolution: null, synced: true, external_etag: rec.etag ?? null,
        });
        plan.unchanged++;
        break;
      case 'open-conflict':
        // A person decides: open the conflict, leave both sides as they are.
        plan.conflicts++;
        plan.registryOnly.push({ ...keepRegistry(reg!), sync_status: 'conflict', external_updated_at: rec.updatedAt, conflict: d.conflict });
        plan.opened.push(view!.id);
        plan.conflictEvents.push({
          action: 'conflict', source: system, entity_type: spec.type, entity_id: view!.id, timestamp: d.conflict.detected_at,
          direction: 'pull', external_id: rec.externalId, local_version: view!.version, external_version: reg!.external_version,
        });
        break;
      case 'keep-local':
        // Local wins: leave the row; push sends it out (or archives it). Record what the external side had.
        if (reg?.external_id) plan.conflicts++;
        if (reg?.sync_status === 'pending' && reg.conflict) plan.closed.push(view!.id);
        plan.registryOnly.push({
          local_id: view!.id, external_id: rec.externalId, local_version: reg?.external_id ? (reg.local_version ?? 0) : 0,
          external_version: (reg?.external_version ?? 0) + 1, sync_status: 'pending', error_message: null,
          synced_hash: null, synced_snapshot: null, external_updated_at: rec.updatedAt, local_updated_at: null,
          deleted: false, last_resolution: d.resolution, synced: false, external_etag: rec.etag ?? null,
        });
        break;
      case 'apply':
        if (d.resolution && reg?.external_id) plan.conflicts++;
        if (reg?.sync_status === 'pending' && reg.conflict) plan.closed.push(view!.id);
        plan.updates.push(recordsetRow(spec, view!.id, d.values));
        plan.pending.push({ rec, reg, localId: view!.id, hash, resolution: d.resolution, kind: 'updated', pushBack: d.pushBack });
        break;
    }
  }
  return plan;
}

/**
 * The registry entries and events of the rows a page writes. `written`: the versions Postgres gave
 * the rows; without it, the entries and events are marked `from_row` and the statement that writes
 * the rows fills in each written row's version and updated_at (registryUpsertSql, outboxInsertSql).
 */
export function completePage(
  input: Pick<PageInput, 'system' | 'spec' | 'now'>,
  plan: PagePlan,
  written?: ReadonlyMap<string, { version: number; updated_at: Date | string }>,
): { registry: RegistryWrite[]; events: (SyncEvent & { from_row?: boolean })[]; created: number; updated: number } {
  const registry: RegistryWrite[] = [...plan.registryOnly];
  const events: (SyncEvent & { from_row?: boolean })[] = [...plan.conflictEvents];
  let created = 0;
  let updated = 0;
  for (const p of plan.pending) {
    const w = written?.get(p.localId);
    if (written && !w) throw new Error(`page write left no row for ${p.localId}`);
    const fromRow = written ? {} : { from_row: true };
    const externalVersion = (p.reg?.external_version ?? 0) + 1;
    registry.push({
      local_id: p.localId, external_id: p.rec.externalId,
      local_version: p.pushBack ? (p.reg?.local_version ?? 0) : (w?.version ?? null), external_version: externalVersion,
      sync_status: p.pushBack ? 'pending' : 'synced', error_message: null, synced_hash: p.hash, synced_snapshot: p.rec.fields,
      external_updated_at: p.rec.updatedAt, local_updated_at: toIso(w?.updated_at), deleted: false,
      last_resolution: p.resolution, synced: true, external_etag: p.rec.etag ?? null, ...fromRow,
    });
    if (p.kind === 'created') created++;
    else updated++;
    events.push({
      action: p.kind, source: input.system, entity_type: input.spec.type, entity_id: p.localId, timestamp: input.now, direction: 'pull',
      external_id: p.rec.externalId, local_version: w?.version ?? null, external_version: externalVersion, ...fromRow,
    });
  }
  return { registry, events, created, updated };
}

/**
 * What a pulled page names, for writing pages at once (core/pipeline.ts): the records it writes or
 * deletes (external ids, the Aurora ids they carry, natural keys), and the records of its own type
 * its associations point at (external ids, resolved through the registry once those are written).
 */
export function pageKeys(spec: EntitySpec, page: { records: readonly ExternalRecord[]; deletions?: readonly { externalId: string }[] }): PageKeys {
  const keys = recordKeys(spec, page.records.map((r) => ({ ids: r.auroraId ? [`x:${r.externalId}`, `a:${r.auroraId}`] : [`x:${r.externalId}`], fields: r.fields })), 'x:');
  return { own: [...keys.own, ...(page.deletions ?? []).map((d) => `x:${d.externalId}`)], refs: keys.refs };
}
