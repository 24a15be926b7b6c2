/**
 * The Aurora entity model shared by every connector: entity types, their local tables and the
 * canonical field set that both sides are mapped to. Two records are "the same" when their
 * canonical fields are equal; the content hash of the canonical form is what echo suppression
 * and change detection compare.
 */
import { createHash } from 'node:crypto';

export const ENTITY_TYPES = ['contact', 'company', 'deal'] as const;
export type EntityType = (typeof ENTITY_TYPES)[number];

/** Canonical values are strings or null, normalised so both sides compare equal. */
export type Canonical = Record<string, string | null>;

export type FieldKind = 'text' | 'email' | 'numeric' | 'date';

export interface LocalEntitySpec {
  type: EntityType;
  /** plural name used by the API and status (`contacts`), also the local table name */
  plural: string;
  table: string;
  fields: Record<string, FieldKind>;
}

export const ENTITIES: Record<EntityType, LocalEntitySpec> = {
  contact: {
    type: 'contact',
    plural: 'contacts',
    table: 'contacts',
    fields: { first_name: 'text', last_name: 'text', email: 'email', phone: 'text', linkedin_url: 'text' },
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
    fields: { name: 'text', amount: 'numeric', stage: 'text', probability: 'numeric', close_date: 'date' },
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
