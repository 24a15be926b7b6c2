/** Records as the CRM v3 API returns them. */
import { assocType } from './associations';
import { ALWAYS_PROPERTIES, DEFAULT_PROPERTIES } from './schema';
import { iso, type Rec, type Snapshot, type Store } from './store';
import type { ObjectType, SandboxRecord } from './types';

export interface ViewOptions {
  /** requested properties; empty/undefined = the type's defaults */
  properties?: string[];
  propertiesWithHistory?: string[];
  /** object types to include v3 associations for */
  associations?: ObjectType[];
  /** return every property that has a value (create/update responses) */
  allProperties?: boolean;
}

export interface PublicObject extends SandboxRecord {
  propertiesWithHistory?: Record<string, Array<{ value: string; timestamp: string; sourceType: string; sourceId?: string }>>;
  associations?: Record<string, { results: Array<{ id: string; type: string }> }>;
  [extra: string]: unknown;
}

/** Property names a read returns (requested + always-returned, or the defaults). */
export function selectProperties(store: Store, type: ObjectType, requested: string[] | undefined): string[] {
  if (!requested || requested.length === 0) return DEFAULT_PROPERTIES[type];
  const out = new Set<string>();
  for (const p of requested) if (store.prop(type, p)) out.add(p);
  for (const p of ALWAYS_PROPERTIES[type]) out.add(p);
  return [...out];
}

export function viewSnapshot(id: string, snap: Snapshot, names: string[]): PublicObject {
  const properties: Record<string, string | null> = {};
  for (const n of names) properties[n] = snap.properties[n] ?? null;
  const out: PublicObject = {
    id,
    properties,
    createdAt: iso(snap.createdAt),
    updatedAt: iso(snap.updatedAt),
    archived: snap.archived,
  };
  if (snap.archivedAt !== undefined) out.archivedAt = iso(snap.archivedAt);
  return out;
}

export function viewRecord(store: Store, rec: Rec, opts: ViewOptions = {}): PublicObject {
  const type = rec.type;
  const names = opts.allProperties
    ? Object.keys(rec.cur.properties).sort()
    : selectProperties(store, type, opts.properties);
  const out = viewSnapshot(rec.id, rec.cur, names);
  if (opts.propertiesWithHistory && opts.propertiesWithHistory.length) {
    const h: NonNullable<PublicObject['propertiesWithHistory']> = {};
    for (const p of opts.propertiesWithHistory) if (store.prop(type, p)) h[p] = store.propertyHistory(rec, p);
    out.propertiesWithHistory = h;
  }
  if (opts.associations && opts.associations.length) {
    const a: NonNullable<PublicObject['associations']> = {};
    for (const to of opts.associations) {
      const results: Array<{ id: string; type: string }> = [];
      for (const [toId, typeIds] of store.associationsOf(type, rec.id, to)) {
        for (const t of typeIds) results.push({ id: toId, type: assocType(t)?.v3Name ?? String(t) });
      }
      if (results.length) a[to] = { results };
    }
    if (Object.keys(a).length) out.associations = a;
  }
  return out;
}
