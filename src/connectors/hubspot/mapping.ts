/** Pure mappers between HubSpot CRM objects and Aurora's canonical records. */
import { canonicalize, type Canonical } from '../../core/model';
import type { ExternalRecord } from '../types';
import { hubspotSpec, type HubSpotEntityType } from './entities';

type EntityType = HubSpotEntityType;

export type HubSpotObjectType = 'contacts' | 'companies' | 'deals';

export interface HubSpotAssociationMap {
  /** the HubSpot object type on the other side */
  to: HubSpotObjectType;
  /** for a single ref: the association type id that marks the primary one */
  primaryTypeId?: number;
}

export interface HubSpotEntityMap {
  objectType: HubSpotObjectType;
  /** canonical ref/refs field -> HubSpot association */
  associations?: Record<string, HubSpotAssociationMap>;
  /** the property HubSpot advances on every change of this object type */
  lastModified: string;
  /** canonical field -> HubSpot property */
  properties: Record<string, string>;
}

/** Custom unique property carrying the Aurora id: the idempotency key for creates (written once, at creation). */
export const AURORA_ID_PROPERTY = 'aurora_id';

const HUBSPOT_MAPS: Record<EntityType, HubSpotEntityMap> = {
  contact: {
    objectType: 'contacts',
    lastModified: 'lastmodifieddate',
    properties: {
      first_name: 'firstname',
      last_name: 'lastname',
      email: 'email',
      phone: 'phone',
      linkedin_url: 'hs_linkedin_url',
    },
    associations: { company_id: { to: 'companies', primaryTypeId: 1 } },
  },
  company: {
    objectType: 'companies',
    lastModified: 'hs_lastmodifieddate',
    properties: { name: 'name', domain: 'domain', industry: 'industry', total_deal_value: 'aurora_total_deal_value' },
  },
  deal: {
    objectType: 'deals',
    lastModified: 'hs_lastmodifieddate',
    properties: {
      name: 'dealname',
      amount: 'amount',
      stage: 'dealstage',
      probability: 'hs_deal_stage_probability',
      close_date: 'closedate',
    },
    associations: { company_id: { to: 'companies', primaryTypeId: 5 }, contact_ids: { to: 'contacts' } },
  },
};

/** How one entity type maps to HubSpot (throws for a type HubSpot does not have). */
export function hubspotMap(type: string): HubSpotEntityMap {
  const m = HUBSPOT_MAPS[type as EntityType];
  if (!m) throw new Error(`hubspot has no entity type "${type}"`);
  return m;
}

/** Every property the engine reads for an entity type. */
export function readProperties(type: string): string[] {
  const m = hubspotMap(type);
  return [...Object.values(m.properties), AURORA_ID_PROPERTY, m.lastModified, 'hs_object_id'];
}

export interface HubSpotObject {
  id: string;
  properties: Record<string, string | null | undefined>;
  createdAt?: Date | string;
  updatedAt?: Date | string;
  archived?: boolean;
  archivedAt?: Date | string;
}

function iso(value: Date | string | undefined | null): string | undefined {
  if (value === undefined || value === null) return undefined;
  const d = value instanceof Date ? value : new Date(/^\d+$/.test(value) ? Number(value) : value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** Epoch ms of the object's last modification (the property, else updatedAt). */
export function lastModifiedMs(type: string, obj: HubSpotObject): number {
  const v = iso(obj.properties[hubspotMap(type).lastModified]) ?? iso(obj.updatedAt);
  return v ? Date.parse(v) : 0;
}

export function toCanonical(type: string, obj: HubSpotObject): Canonical {
  const values: Record<string, unknown> = {};
  for (const [field, prop] of Object.entries(hubspotMap(type).properties)) values[field] = obj.properties[prop];
  return canonicalize(hubspotSpec(type), values);
}

export function toExternalRecord(type: string, obj: HubSpotObject): ExternalRecord {
  const ms = lastModifiedMs(type, obj);
  return {
    externalId: String(obj.id),
    fields: toCanonical(type, obj),
    updatedAt: new Date(ms || Date.now()).toISOString(),
    auroraId: obj.properties[AURORA_ID_PROPERTY] ?? null,
    archived: Boolean(obj.archived),
    ...(obj.archivedAt ? { archivedAt: iso(obj.archivedAt) } : {}),
  };
}

/** Canonical fields -> HubSpot properties (strings; null clears a property). */
export function toHubSpotProperties(type: string, fields: Canonical): Record<string, string> {
  const out: Record<string, string> = {};
  const spec = hubspotSpec(type).fields;
  for (const [field, prop] of Object.entries(hubspotMap(type).properties)) {
    if (!(field in fields)) continue;
    const v = fields[field];
    if (v === null || v === undefined) out[prop] = '';
    else if (spec[field] === 'date') out[prop] = `${v}T00:00:00.000Z`;
    else out[prop] = v;
  }
  return out;
}
