/**
 * Aurora's local tables, for any entity spec: SQL built from the spec's fields and kinds, join-table
 * associations, and the translation of associations between Aurora ids and external ids.
 */
import type { Pool, PoolClient } from 'pg';
import { canonicalize, columnFields, normalizeValue, refFields, type Canonical, type EntitySpec, type FieldKind } from '../core/model';
import type { Scope } from './registry';

export const SQL_TYPE: Record<FieldKind, string> = {
  text: 'text', email: 'text', numeric: 'numeric', date: 'date', timestamp: 'timestamptz', boolean: 'boolean', json: 'jsonb', ref: 'text', refs: 'text',
};

/** A statement's parameters, numbered `$1`, `$2`, … as they are used in its text. */
export function params(): { values: unknown[]; p(v: unknown): string } {
  const values: unknown[] = [];
  return { values, p: (v) => `$${values.push(v)}` };
}

/** A local row with the engine's columns and the spec's fields. */
export interface LocalRow {
  id: string;
  version: number;
  updated_at: Date;
  deleted_at: Date | null;
  [field: string]: unknown;
}

/** `x(id text, name text, …)` for jsonb_to_recordset over the spec's column fields. */
export function recordsetColumns(spec: EntitySpec): string {
  return ['id text', ...columnFields(spec).map((f) => `${f} ${SQL_TYPE[spec.fields[f]!]}`), ...(spec.connectionColumn ? [`${spec.connectionColumn} text`] : [])].join(', ');
}

/** Canonical values as jsonb_to_recordset needs them (json fields as JSON, not as their text). */
export function recordsetRow(spec: EntitySpec, id: string, values: Canonical, connection?: string): Record<string, unknown> {
  const row: Record<string, unknown> = { id };
  for (const f of Object.keys(spec.fields)) {
    const v = values[f] ?? null;
    row[f] = spec.fields[f] === 'json' && v !== null ? JSON.parse(v) : v;
  }
  if (spec.connectionColumn && connection !== undefined) row[spec.connectionColumn] = connection;
  return row;
}

/** SELECT list of every canonical field of alias `t`, join-table associations aggregated. */
export function selectFields(spec: EntitySpec, alias = 't'): string {
  const joins = Object.entries(spec.joins ?? {}).map(
    ([field, j]) => `(SELECT string_agg(j.${j.target}, ',' ORDER BY j.${j.target}) FROM ${j.table} j WHERE j.${j.own} = ${alias}.id) AS ${field}`,
  );
  return [...columnFields(spec).map((f) => `${alias}.${f}`), ...joins].join(', ');
}

/** `AND t.<connection column> = $n` when rows belong to connections. */
export function connectionFilter(spec: EntitySpec, param: string, alias = 't'): string {
  return spec.connectionColumn ? ` AND ${alias}.${spec.connectionColumn} = ${param}` : '';
}

export const localCanonical = (spec: EntitySpec, row: Record<string, unknown>): Canonical => canonicalize(spec, row);

export async function loadLocal(c: PoolClient, spec: EntitySpec, ids: string[]): Promise<Map<string, LocalRow>> {
  if (!ids.length) return new Map();
  // One primary-key probe per id, locked in id order (see the registry read in pull.ts).
  const { rows } = await c.query<LocalRow>(
    `SELECT x.* FROM (SELECT DISTINCT id FROM unnest($1::text[]) AS k(id) ORDER BY id) k
     CROSS JOIN LATERAL (
       SELECT t.id, ${selectFields(spec)}, t.version, t.updated_at, t.deleted_at FROM ${spec.table} t
        WHERE t.id = k.id FOR UPDATE OF t) x`,
    [ids],
  );
  return new Map(rows.map((r) => [r.id, r]));
}

/** Writes join-table associations (e.g. a deal's contacts) to exactly the given sets. */
export async function writeJoins(c: PoolClient, spec: EntitySpec, rows: Record<string, unknown>[]): Promise<void> {
  for (const [field, j] of Object.entries(spec.joins ?? {})) {
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
 * registry (same system and connection). Ids with no registry entry (not synced yet, or deleted)
 * are dropped.
 */
export async function translateRefs(db: Pool | PoolClient, scope: Scope, records: Canonical[], to: 'local' | 'external'): Promise<void> {
  for (const [field, target, kind] of refFields(scope.spec)) {
    const ids = [...new Set(records.flatMap((r) => (r[field] ?? '').split(',').filter(Boolean)))];
    if (!ids.length) continue;
    // One unique-index probe per id (see loadLocal).
    const { rows } = await db.query<{ local_id: string; external_id: string }>(
      `SELECT r.local_id, r.external_id FROM unnest($3::text[]) AS k(id) CROSS JOIN LATERAL (
         SELECT r.local_id, r.external_id FROM sync_registry r
          WHERE ${to === 'local' ? 'r.external_system = $1 AND r.connection = $4 AND r.entity_type = $2 AND r.external_id = k.id' : 'r.local_id = k.id AND r.external_system = $1 AND r.entity_type = $2 AND r.connection = $4'}
            AND NOT r.deleted AND r.external_id IS NOT NULL LIMIT 1) r`,
      [scope.system, target, ids, scope.connection],
    );
    const map = new Map(rows.map((r) => (to === 'local' ? [r.external_id, r.local_id] : [r.local_id, r.external_id])));
    for (const r of records) {
      const mapped = (r[field] ?? '').split(',').filter(Boolean).map((id) => map.get(id)).filter((x): x is string => Boolean(x));
      r[field] = kind === 'ref' ? (mapped[0] ?? null) : normalizeValue('refs', mapped);
    }
  }
}
