/**
 * The entity model every connector declares its types with: field kinds, the canonical form both
 * sides are mapped to, and the comparisons built on it. Two records are "the same" when their
 * canonical fields are equal. Deterministic and free of Node built-ins, so workflow code may import
 * it; the content hash lives in ./hash.
 */

/** Canonical values are strings or null, normalised so both sides compare equal. */
export type Canonical = Record<string, string | null>;

/**
 * - `text`, `email` (lower-cased), `numeric`, `date` (YYYY-MM-DD), `timestamp` (ISO-8601 UTC with
 *   milliseconds), `boolean` ('true' / 'false'), `json` (any JSON value or list, in a canonical
 *   text form with sorted keys; stored as jsonb);
 * - `ref`: one association (the Aurora id of another record of the same system), `refs`: a set of
 *   them; the connector reads and writes them as the external system's ids, the store translates
 *   through the registry.
 */
export type FieldKind = 'text' | 'email' | 'numeric' | 'date' | 'timestamp' | 'boolean' | 'json' | 'ref' | 'refs';
export const FIELD_KINDS: readonly FieldKind[] = ['text', 'email', 'numeric', 'date', 'timestamp', 'boolean', 'json', 'ref', 'refs'];

/** `two-way`: pulled and pushed; `pull-only`: never pushed, local edits are reported, not sent. */
export type Direction = 'two-way' | 'pull-only';

export interface EntitySpec {
  /** singular name: the registry's entity_type, the event's entity_type and the Redis channel */
  type: string;
  /** plural name used by the API and status (`contacts`) */
  plural: string;
  /** the local table: `id TEXT PRIMARY KEY`, `version`, `updated_at`, `deleted_at`, one column per non-join field */
  table: string;
  fields: Record<string, FieldKind>;
  /** for ref/refs fields: the entity type (of the same system) they point at */
  refs?: Record<string, string>;
  /** for refs fields kept in a join table: the table, its owner id column and its target id column */
  joins?: Record<string, { table: string; own: string; target: string }>;
  /**
   * refs fields that are sets (a thread's labels): both sides' changes to one merge three-way, and
   * changes to different fields of the record merge whatever the conflict policy
   */
  setFields?: readonly string[];
  /** a natural key that links a record new to the registry to an existing unlinked local row */
  matchBy?: string;
  direction: Direction;
  /**
   * the column naming the connection a local row belongs to (e.g. the mailbox of a calendar event);
   * without it every row belongs to the system's only connection
   */
  connectionColumn?: string;
  /** a short description for the status and the README */
  description?: string;
}

/** The connection of a system that has only one (HubSpot's portal); its workflow id is `sync:<system>`. */
export const DEFAULT_CONNECTION = 'default';

/** Accepts `contact`, `contacts`, `Contact`… among the given specs; undefined for anything else. */
export function findEntity<S extends Pick<EntitySpec, 'type' | 'plural'>>(specs: readonly S[], value: unknown): S | undefined {
  if (typeof value !== 'string') return undefined;
  const v = value.trim().toLowerCase();
  return specs.find((s) => s.type === v || s.plural === v);
}

/** JSON text with object keys sorted at every level: equal values give equal text. */
export function stableJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value as Record<string, unknown>).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value;
}

function toDate(value: unknown): Date | null {
  if (value instanceof Date) return value;
  const s = String(value).trim();
  const d = /^-?\d+$/.test(s) ? new Date(Number(s)) : new Date(s);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function normalizeValue(kind: FieldKind, value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (kind === 'json') {
    if (typeof value === 'string') {
      const s = value.trim();
      if (s === '') return null;
      try {
        return stableJson(JSON.parse(s));
      } catch {
        return stableJson(s);
      }
    }
    return stableJson(value);
  }
  if (Array.isArray(value)) return normalizeValue(kind, value.join(','));
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) return null;
    return kind === 'date' ? value.toISOString().slice(0, 10) : value.toISOString();
  }
  const s = String(value).trim();
  if (s === '') return null;
  switch (kind) {
    case 'numeric': {
      const n = Number(s);
      return Number.isFinite(n) ? String(n) : s;
    }
    case 'date': {
      if (/^\d{4}-\d{2}-\d{2}/.test(s)) return s.slice(0, 10);
      const d = toDate(s);
      return d ? d.toISOString().slice(0, 10) : s;
    }
    case 'timestamp': {
      const d = toDate(s);
      return d ? d.toISOString() : s;
    }
    case 'boolean': {
      const v = s.toLowerCase();
      if (v === 'true' || v === 't' || v === '1' || v === 'yes') return 'true';
      if (v === 'false' || v === 'f' || v === '0' || v === 'no') return 'false';
      return s;
    }
    case 'email':
      return s.toLowerCase();
    case 'refs': {
      const ids = [...new Set(s.split(',').map((x) => x.trim()).filter(Boolean))].sort();
      return ids.length ? ids.join(',') : null;
    }
    default:
      return s;
  }
}

export function canonicalize(spec: Pick<EntitySpec, 'fields'>, values: Record<string, unknown>): Canonical {
  const out: Canonical = {};
  for (const [field, kind] of Object.entries(spec.fields)) out[field] = normalizeValue(kind, values[field]);
  return out;
}

/** Fields whose values differ between two canonical records. */
export function changedFields(a: Canonical, b: Canonical): string[] {
  return Object.keys({ ...a, ...b }).filter((k) => (a[k] ?? null) !== (b[k] ?? null));
}

/** The plain (column) fields of an entity type, without join-table associations. */
export function columnFields(spec: EntitySpec): string[] {
  return Object.keys(spec.fields).filter((f) => !spec.joins?.[f]);
}

/** Association fields, the entity type each points at, and their kind. */
export function refFields(spec: EntitySpec): [string, string, 'ref' | 'refs'][] {
  return Object.entries(spec.refs ?? {}).map(([f, t]) => [f, t, spec.fields[f] as 'ref' | 'refs']);
}

/** A value a person typed for a field (conflict resolutions): null when fine, else why not. */
export function invalidValue(kind: FieldKind, v: string): string | null {
  if (kind === 'ref' || kind === 'refs') return 'is an association: choose "local" or "external"';
  if (kind === 'numeric' && !Number.isFinite(Number(v))) return `"${v}" is not a number`;
  if (kind === 'date' && !/^\d{4}-\d{2}-\d{2}$/.test(v)) return `"${v}" is not a date (YYYY-MM-DD)`;
  if (kind === 'timestamp' && Number.isNaN(Date.parse(v))) return `"${v}" is not a timestamp (ISO-8601)`;
  if (kind === 'boolean' && !/^(true|false)$/i.test(v)) return `"${v}" is not true or false`;
  if (kind === 'email' && !/^[^@\s]+@[^@\s]+$/.test(v)) return `"${v}" is not an email address`;
  if (kind === 'json') {
    try {
      JSON.parse(v);
    } catch {
      return 'is not valid JSON';
    }
  }
  return null;
}
