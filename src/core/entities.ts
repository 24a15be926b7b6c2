/**
 * The Aurora entity model shared by every connector: entity types, their local tables and the
 * canonical field set that both sides are mapped to. Two records are "the same" when their
 * canonical fields are equal; the content hash of the canonical form is what echo suppression
 * and change detection compare.
 */
import { createHash } from 'node:crypto';

/** In dependency order: companies before the contacts and deals that point at them. */
export const ENTITY_TYPES = ['company', 'contact', 'deal'] as const;
export type EntityType = (typeof ENTITY_TYPES)[number];

/** Canonical values are strings or null, normalised so both sides compare equal. */
export type Canonical = Record<string, string | null>;

/**
 * `ref` is one association (the Aurora id of another record), `refs` a set of them; the connector
 * reads and writes them as the external system's ids, the store translates through the registry.
 */
export type FieldKind = 'text' | 'email' | 'numeric' | 'date' | 'ref' | 'refs';

export interface LocalEntitySpec {
  type: EntityType;
  /** plural name used by the API and status (`contacts`), also the local table name */
  plural: string;
  table: string;
  fields: Record<string, FieldKind>;
  /** for ref/refs fields: the entity type they point at */
  refs?: Record<string, EntityType>;
  /** a natural key that links a record new to the registry to an existing unlinked local row */
  matchBy?: string;
  /** for refs fields: the join table holding them (entity id column, target id column) */
  joins?: Record<string, { table: string; own: string; target: string }>;
}

export const ENTITIES: Record<EntityType, LocalEntitySpec> = {
  contact: {
    type: 'contact',
    plural: 'contacts',
    table: 'contacts',
    fields: { first_name: 'text', last_name: 'text', email: 'email', phone: 'text', linkedin_url: 'text', company_id: 'ref' },
    refs: { company_id: 'company' },
    matchBy: 'email',
  },
  company: {
    type: 'company',
    plural: 'companies',
    table: 'companies',
    fields: { name: 'text', domain: 'text', industry: 'text', total_deal_value: 'numeric' },
  },
  deal: {
    type: 'deal',
    plural: 'deals',
    table: 'deals',
    fields: { name: 'text', amount: 'numeric', stage: 'text', probability: 'numeric', close_date: 'date', company_id: 'ref', contact_ids: 'refs' },
    refs: { company_id: 'company', contact_ids: 'contact' },
    joins: { contact_ids: { table: 'deal_contacts', own: 'deal_id', target: 'contact_id' } },
  },
};

/** Accepts `contact`, `contacts`, `Contact`…; returns undefined for anything else. */
export function parseEntityType(value: unknown): EntityType | undefined {
  if (typeof value !== 'string') return undefined;
  const v = value.trim().toLowerCase();
  return ENTITY_TYPES.find((t) => t === v || ENTITIES[t].plural === v);
}

export function normalizeValue(kind: FieldKind, value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return normalizeValue(kind, value.join(','));
  if (value instanceof Date) {
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
      if (/^\d+$/.test(s)) return new Date(Number(s)).toISOString().slice(0, 10);
      const d = new Date(s);
      return Number.isNaN(d.getTime()) ? s : d.toISOString().slice(0, 10);
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

export function canonicalize(type: EntityType, values: Record<string, unknown>): Canonical {
  const out: Canonical = {};
  for (const [field, kind] of Object.entries(ENTITIES[type].fields)) out[field] = normalizeValue(kind, values[field]);
  return out;
}

export function contentHash(canonical: Canonical): string {
  const ordered = Object.keys(canonical)
    .sort()
    .map((k) => [k, canonical[k]]);
  return createHash('sha256').update(JSON.stringify(ordered)).digest('hex').slice(0, 32);
}

/** Fields whose values differ between two canonical records. */
export function changedFields(a: Canonical, b: Canonical): string[] {
  return Object.keys({ ...a, ...b }).filter((k) => (a[k] ?? null) !== (b[k] ?? null));
}

/** The plain (column) fields of an entity type, without associations. */
export function columnFields(type: EntityType): string[] {
  const spec = ENTITIES[type];
  return Object.keys(spec.fields).filter((f) => !spec.joins?.[f]);
}

/** Association fields and the entity type each points at. */
export function refFields(type: EntityType): [string, EntityType, 'ref' | 'refs'][] {
  const spec = ENTITIES[type];
  return Object.entries(spec.refs ?? {}).map(([f, t]) => [f, t, spec.fields[f] as 'ref' | 'refs']);
}
