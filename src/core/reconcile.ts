/**
 * The decision of a pull, for one record: given the external record, the registry row and the
 * local row (each possibly absent) and the conflict policy, what happens. Pure: no I/O, no clock
 * (the caller passes `now`); the store applies a page of these decisions set-based.
 */
import type { ConflictPolicy } from '../config';
import { contentHash } from './hash';
import { changedFields, type Canonical, type Direction } from './model';

/** The registry row as the decision needs it. */
export interface RegistryView {
  local_id: string;
  external_id: string | null;
  local_version: number | null;
  external_version: number | null;
  sync_status: 'synced' | 'pending' | 'conflict' | 'error';
  synced_hash: string | null;
  synced_snapshot: Canonical | null;
  external_updated_at: Date | string | null;
  deleted: boolean;
  conflict: OpenConflict | null;
}

/** What an open conflict keeps in sync_registry.conflict. */
export interface OpenConflict {
  detected_at: string;
  fields: string[];
  local: { values: Canonical; version: number; updated_at: string | null; deleted: boolean };
  external: { values: Canonical; id: string; updated_at: string };
  base: Canonical | null;
}

export interface LocalView {
  id: string;
  values: Canonical;
  version: number;
  updated_at: string | null;
  deleted: boolean;
}

export interface IncomingRecord {
  externalId: string;
  /** canonical, associations already in Aurora ids */
  fields: Canonical;
  updatedAt: string;
}

export interface ReconcileInput {
  rec: IncomingRecord;
  reg: RegistryView | null;
  local: LocalView | null;
  policy: ConflictPolicy;
  direction: Direction;
  /**
   * Fields that are sets (a thread's labels): when both sides changed one, it merges three-way
   * (what either side added, less what either removed), and when no other field changed on both
   * sides the two sides' changes merge whatever the policy (see EntitySpec.setFields).
   */
  setFields?: readonly string[];
  /** ISO time of the decision (for conflict and resolution records) */
  now: string;
  /** contentHash(rec.fields), where the caller has it already */
  hash?: string;
}

/** What was decided when both sides changed (kept in sync_registry.last_resolution). */
export interface Resolution {
  policy: string;
  reason: string;
  winner: 'local' | 'external' | 'both';
  at: string;
  fields: string[];
  local: { values: Canonical; deleted: boolean; version: number; updated_at: string | null };
  external: { values: Canonical; id: string; updated_at: string };
  base: Canonical | null;
}

export type Decision =
  /** an open conflict holds the record; `refresh` is its updated snapshot when the external side moved on */
  | { kind: 'held'; refresh: OpenConflict | null }
  /** an older version than the one last synced (a lagging index): never overwrites a newer one */
  | { kind: 'stale' }
  /** nothing changed since the last sync (including our own writes coming back) */
  | { kind: 'unchanged' }
  /** new to Aurora: create the local row */
  | { kind: 'create'; localId: string | null }
  /** both sides already hold the same values: record the link, change nothing */
  | { kind: 'agree' }
  /** write these values to the local row; `pushBack`: they still differ from the external side, so push sends them */
  | { kind: 'apply'; values: Canonical; resolution: Resolution | null; pushBack: boolean }
  /** both changed and the local side wins: leave the row, push sends it */
  | { kind: 'keep-local'; resolution: Resolution }
  /** both changed, a person decides */
  | { kind: 'open-conflict'; conflict: OpenConflict };

/** Three-way merge of two sets (canonical comma lists) changed from `base`. */
export function mergeSets(base: string | null | undefined, local: string | null | undefined, external: string | null | undefined): string | null {
  const list = (v: string | null | undefined) => new Set((v ?? '').split(',').filter(Boolean));
  const b = list(base);
  const l = list(local);
  const x = list(external);
  const out = [...new Set([...l, ...x])].filter((id) => !(b.has(id) && (!l.has(id) || !x.has(id)))).sort();
  return out.length ? out.join(',') : null;
}

function externalAfter(rec: IncomingRecord, at: Date | string | null): boolean {
  return at !== null && Date.parse(rec.updatedAt) < new Date(at).getTime();
}

export function reconcile(input: ReconcileInput): Decision {
  const { rec, reg, local, policy, now } = input;
  const hash = input.hash ?? contentHash(rec.fields);
  if (reg?.sync_status === 'conflict') {
    // Open conflict: leave the record alone; keep its external snapshot current.
    const c = reg.conflict;
    if (c && contentHash(c.external.values) !== hash && Date.parse(rec.updatedAt) >= Date.parse(c.external.updated_at)) {
      const refresh: OpenConflict = { ...c, external: { values: rec.fields, id: rec.externalId, updated_at: rec.updatedAt } };
      refresh.fields = changedFields(c.local.values, rec.fields);
      return { kind: 'held', refresh };
    }
    return { kind: 'held', refresh: null };
  }
  if (reg && reg.synced_hash === hash && reg.external_id === rec.externalId && !reg.deleted) return { kind: 'unchanged' };
  if (reg?.external_updated_at && externalAfter(rec, reg.external_updated_at)) return { kind: 'stale' };
  if (!local) return { kind: 'create', localId: reg?.local_id ?? null };

  const localHash = contentHash(local.values);
  if (localHash === hash && !local.deleted) return { kind: 'agree' };

  // A local change since the last sync: other values, or a delete not yet sent (a delete bumps
  // the version but not the field hash).
  const linked = Boolean(reg?.external_id);
  const localChanged =
    !linked || (local.version > (reg!.local_version ?? 0) && (localHash !== reg!.synced_hash || (local.deleted && !reg!.deleted)));
  if (!localChanged) return { kind: 'apply', values: rec.fields, resolution: null, pushBack: false };

  const externalWins = Date.parse(rec.updatedAt) > (local.updated_at ? Date.parse(local.updated_at) : 0);
  const base = linked ? (reg!.synced_snapshot ?? null) : null;
  const operatorRetry = reg?.sync_status === 'pending' && reg.conflict !== null;
  const snapshot = {
    local: { values: local.values, deleted: local.deleted, version: local.version, updated_at: local.updated_at },
    external: { values: rec.fields, id: rec.externalId, updated_at: rec.updatedAt },
    base,
  };
  // The fields in conflict: changed on both sides (against the base) to different values.
  const localCh = base ? changedFields(base, local.values) : [];
  const extCh = base ? changedFields(base, rec.fields) : [];
  const conflicting = base ? localCh.filter((f) => extCh.includes(f) && local.values[f] !== rec.fields[f]) : changedFields(local.values, rec.fields);

  if (input.direction === 'pull-only') {
    // Never pushed: the external side is the truth; the overwritten local values stay on record.
    const resolution: Resolution = {
      policy: 'pull-only', reason: 'local edit to a pull-only type: overwritten by the external system', winner: 'external', at: now, fields: conflicting, ...snapshot,
    };
    return { kind: 'apply', values: rec.fields, resolution, pushBack: false };
  }

  let mode: ConflictPolicy['policy'] = linked && !operatorRetry ? policy.policy : 'last-write-wins';
  // Set fields changed on both sides merge; if nothing else overlaps, so do the two sides' changes.
  const sets = base && !local.deleted && linked && !operatorRetry ? (input.setFields ?? []).filter((f) => conflicting.includes(f)) : [];
  const overlapping = conflicting.filter((f) => !sets.includes(f));
  const setMerge = Boolean(base && !local.deleted && linked && !operatorRetry && input.setFields?.length && overlapping.length === 0);
  if (setMerge) mode = 'merge';
  let applied: Canonical = rec.fields;
  let pushBack = false;
  if (mode === 'merge') {
    if (!base || local.deleted) mode = policy.fallback;
    else if (overlapping.length && policy.fallback === 'manual') mode = 'manual';
    else {
      // Three-way merge: each side's changes; fields changed on both sides go to the later writer.
      applied = { ...base };
      for (const f of extCh) applied[f] = rec.fields[f] ?? null;
      for (const f of localCh) if (!conflicting.includes(f) || !externalWins) applied[f] = local.values[f] ?? null;
      for (const f of sets) applied[f] = mergeSets(base[f], local.values[f], rec.fields[f]);
      pushBack = contentHash(applied) !== hash;
    }
  }
  if (mode === 'manual') {
    return { kind: 'open-conflict', conflict: { detected_at: now, fields: conflicting, local: snapshot.local, external: snapshot.external, base } };
  }
  const resolution: Resolution = {
    policy:
      (mode === 'merge'
        ? `merge${setMerge && policy.policy !== 'merge' ? ' (no overlapping fields)' : ''}${overlapping.length ? ' (overlapping fields: last-write-wins)' : ''}`
        : 'last-write-wins') + (sets.length ? ` (sets merged: ${sets.join(', ')})` : ''),
    reason: !linked
      ? 'first link of records that already existed on both sides'
      : operatorRetry
        ? 'retried by an operator (sync_status set to pending)'
        : 'changed on both sides since the last sync',
    winner: mode === 'merge' ? (overlapping.length ? (externalWins ? 'external' : 'local') : 'both') : externalWins ? 'external' : 'local',
    at: now,
    fields: conflicting,
    ...snapshot,
  };
  if (mode === 'last-write-wins' && !externalWins) return { kind: 'keep-local', resolution };
  if (mode === 'last-write-wins' && sets.length) {
    // The external record wins the overlap; the sets still merge (the local side's part is pushed).
    applied = { ...rec.fields };
    for (const f of sets) applied[f] = mergeSets(base![f], local.values[f], rec.fields[f]);
    pushBack = contentHash(applied) !== hash;
  }
  return { kind: 'apply', values: applied, resolution, pushBack };
}
