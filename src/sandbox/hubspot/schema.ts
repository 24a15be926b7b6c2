/** Property definitions (the CRM properties API) of the emulated portal. */
import type { ObjectType } from './types';

export type PropType = 'string' | 'number' | 'datetime' | 'date' | 'enumeration' | 'bool' | 'phone_number';
/** How search filters and sorts compare a property. */
export type CompareKind = 'time' | 'number' | 'string';

export interface PropOption {
  label: string;
  value: string;
  displayOrder: number;
  hidden: boolean;
  description?: string;
}

export interface PropDef {
  name: string;
  label: string;
  type: PropType;
  fieldType: string;
  groupName: string;
  description: string;
  hasUniqueValue: boolean;
  readOnlyValue: boolean;
  hubspotDefined: boolean;
  calculated: boolean;
  options: PropOption[];
  displayOrder: number;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
}

export function compareKind(def: PropDef | undefined): CompareKind {
  if (!def) return 'string';
  if (def.type === 'datetime' || def.type === 'date') return 'time';
  if (def.type === 'number') return 'number';
  return 'string';
}

/** Which property a type advances on every change (contacts also carry hs_lastmodifieddate). */
export const LAST_MODIFIED: Record<ObjectType, string> = {
  contacts: 'lastmodifieddate',
  companies: 'hs_lastmodifieddate',
  deals: 'hs_lastmodifieddate',
};

/** Returned by reads that name no properties. */
export const DEFAULT_PROPERTIES: Record<ObjectType, string[]> = {
  contacts: ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname'],
  companies: ['createdate', 'domain', 'hs_lastmodifieddate', 'hs_object_id', 'name'],
  deals: ['amount', 'closedate', 'createdate', 'dealname', 'dealstage', 'hs_lastmodifieddate', 'hs_object_id', 'pipeline'],
};

/** Always returned, whatever properties were requested. */
export const ALWAYS_PROPERTIES: Record<ObjectType, string[]> = {
  contacts: ['createdate', 'hs_object_id', 'lastmodifieddate'],
  companies: ['createdate', 'hs_lastmodifieddate', 'hs_object_id'],
  deals: ['createdate', 'hs_lastmodifieddate', 'hs_object_id'],
};

/** Properties the free-text `query` of /search looks in. */
export const SEARCHABLE_PROPERTIES: Record<ObjectType, string[]> = {
  contacts: ['firstname', 'lastname', 'email', 'phone', 'company'],
  companies: ['name', 'domain', 'phone', 'website'],
  deals: ['dealname', 'pipeline', 'dealstage'],
};

/** The HubSpot object singular used in messages ("CONTACT", "contact"). */
export const SINGULAR: Record<ObjectType, string> = { contacts: 'contact', companies: 'company', deals: 'deal' };
export const OBJECT_TYPE_ID: Record<ObjectType, string> = { contacts: '0-1', companies: '0-2', deals: '0-3' };

export function parseObjectType(raw: string): ObjectType | undefined {
  const v = raw.toLowerCase();
  switch (v) {
    case 'contacts':
    case 'contact':
    case '0-1':
      return 'contacts';
    case 'companies':
    case 'company':
    case '0-2':
      return 'companies';
    case 'deals':
    case 'deal':
    case '0-3':
      return 'deals';
    default:
      return undefined;
  }
}

export const LIFECYCLE_STAGES = [
  'subscriber',
  'lead',
  'marketingqualifiedlead',
  'salesqualifiedlead',
  'opportunity',
  'customer',
  'evangelist',
  'other',
];

/** Default sales pipeline stages with their HubSpot default win probabilities. */
export const DEAL_STAGES: Array<{ value: string; label: string; probability: number }> = [
  { value: 'appointmentscheduled', label: 'Appointment Scheduled', probability: 0.2 },
  { value: 'qualifiedtobuy', label: 'Qualified To Buy', probability: 0.4 },
  { value: 'presentationscheduled', label: 'Presentation Scheduled', probability: 0.6 },
  { value: 'decisionmakerboughtin', label: 'Decision Maker Bought-In', probability: 0.8 },
  { value: 'contractsent', label: 'Contract Sent', probability: 0.9 },
  { value: 'closedwon', label: 'Closed Won', probability: 1 },
  { value: 'closedlost', label: 'Closed Lost', probability: 0 },
];

const EPOCH = '2019-08-06T02:43:01.000Z';

interface Spec {
  name: string;
  label: string;
  type: PropType;
  fieldType?: string;
  group?: string;
  unique?: boolean;
  readOnly?: boolean;
  custom?: boolean;
  calculated?: boolean;
  options?: string[] | Array<{ value: string; label: string }>;
}

const FIELD_TYPE: Record<PropType, string> = {
  string: 'text',
  number: 'number',
  datetime: 'date',
  date: 'date',
  enumeration: 'select',
  bool: 'booleancheckbox',
  phone_number: 'phonenumber',
};

function define(spec: Spec, order: number): PropDef {
  const options: PropOption[] = (spec.options ?? []).map((o, i) =>
    typeof o === 'string'
      ? { label: o.charAt(0).toUpperCase() + o.slice(1), value: o, displayOrder: i, hidden: false }
      : { label: o.label, value: o.value, displayOrder: i, hidden: false },
  );
  return {
    name: spec.name,
    label: spec.label,
    type: spec.type,
    fieldType: spec.fieldType ?? FIELD_TYPE[spec.type],
    groupName: spec.group ?? (spec.custom ? 'aurora' : 'information'),
    description: '',
    hasUniqueValue: spec.unique ?? false,
    readOnlyValue: spec.readOnly ?? false,
    hubspotDefined: !spec.custom,
    calculated: spec.calculated ?? false,
    options,
    displayOrder: spec.custom ? -1 : order,
    createdAt: EPOCH,
    updatedAt: EPOCH,
    archived: false,
  };
}

function system(lastModifiedOnContacts: boolean): Spec[] {
  const specs: Spec[] = [
    { name: 'hs_object_id', label: 'Record ID', type: 'number', readOnly: true },
    { name: 'createdate', label: 'Create Date', type: 'datetime', readOnly: true },
    { name: 'hs_lastmodifieddate', label: 'Last Modified Date', type: 'datetime', readOnly: true, calculated: true },
  ];
  if (lastModifiedOnContacts) {
    specs.push({ name: 'lastmodifieddate', label: 'Last Modified Date', type: 'datetime', readOnly: true, calculated: true });
  }
  return specs;
}

const AURORA_ID: Spec = { name: 'aurora_id', label: 'Aurora ID', type: 'string', unique: true, custom: true };

const SPECS: Record<ObjectType, Spec[]> = {
  contacts: [
    ...system(true),
    { name: 'email', label: 'Email', type: 'string', group: 'contactinformation' },
    { name: 'firstname', label: 'First Name', type: 'string', group: 'contactinformation' },
    { name: 'lastname', label: 'Last Name', type: 'string', group: 'contactinformation' },
    { name: 'phone', label: 'Phone Number', type: 'string', fieldType: 'phonenumber', group: 'contactinformation' },
    { name: 'company', label: 'Company Name', type: 'string', group: 'contactinformation' },
    { name: 'hs_linkedin_url', label: 'LinkedIn URL', type: 'string', group: 'contactinformation' },
    { name: 'jobtitle', label: 'Job Title', type: 'string', group: 'contactinformation' },
    {
      name: 'lifecyclestage',
      label: 'Lifecycle Stage',
      type: 'enumeration',
      fieldType: 'radio',
      group: 'contactinformation',
      options: LIFECYCLE_STAGES,
    },
    AURORA_ID,
  ],
  companies: [
    ...system(false),
    { name: 'name', label: 'Company name', type: 'string', group: 'companyinformation' },
    { name: 'domain', label: 'Company Domain Name', type: 'string', group: 'companyinformation' },
    { name: 'industry', label: 'Industry', type: 'string', group: 'companyinformation' },
    { name: 'total_revenue', label: 'Total Revenue', type: 'number', group: 'companyinformation' },
    { name: 'aurora_total_deal_value', label: 'Aurora total deal value', type: 'number', custom: true },
    AURORA_ID,
  ],
  deals: [
    ...system(false),
    { name: 'dealname', label: 'Deal Name', type: 'string', group: 'dealinformation' },
    { name: 'amount', label: 'Amount', type: 'number', group: 'dealinformation' },
    {
      name: 'dealstage',
      label: 'Deal Stage',
      type: 'enumeration',
      fieldType: 'radio',
      group: 'dealinformation',
      options: DEAL_STAGES.map((s) => ({ value: s.value, label: s.label })),
    },
    {
      name: 'pipeline',
      label: 'Pipeline',
      type: 'enumeration',
      group: 'dealinformation',
      options: [{ value: 'default', label: 'Sales Pipeline' }],
    },
    { name: 'hs_deal_stage_probability', label: 'Deal probability', type: 'number', group: 'dealinformation' },
    { name: 'closedate', label: 'Close Date', type: 'datetime', group: 'dealinformation' },
    AURORA_ID,
  ],
};

/** A fresh, mutable copy of the portal's property definitions per type (custom ones can be added). */
export function defaultSchema(): Record<ObjectType, Map<string, PropDef>> {
  const out = {} as Record<ObjectType, Map<string, PropDef>>;
  for (const type of Object.keys(SPECS) as ObjectType[]) {
    out[type] = new Map(SPECS[type].map((s, i) => [s.name, define(s, i)]));
  }
  return out;
}

/** The property as the properties API returns it. */
export function publicProperty(def: PropDef): Record<string, unknown> {
  return {
    updatedAt: def.updatedAt,
    createdAt: def.createdAt,
    name: def.name,
    label: def.label,
    type: def.type,
    fieldType: def.fieldType,
    description: def.description,
    groupName: def.groupName,
    options: def.options,
    displayOrder: def.displayOrder,
    calculated: def.calculated,
    externalOptions: false,
    hasUniqueValue: def.hasUniqueValue,
    hidden: false,
    hubspotDefined: def.hubspotDefined,
    modificationMetadata: {
      archivable: !def.hubspotDefined,
      readOnlyDefinition: def.hubspotDefined,
      readOnlyValue: def.readOnlyValue,
    },
    formField: !def.readOnlyValue,
    archived: def.archived,
  };
}

const PROP_TYPES = new Set<PropType>(['string', 'number', 'datetime', 'date', 'enumeration', 'bool', 'phone_number']);

export function isPropType(v: unknown): v is PropType {
  return typeof v === 'string' && PROP_TYPES.has(v as PropType);
}

export function makeCustomProperty(input: {
  name: string;
  label: string;
  type: PropType;
  fieldType: string;
  groupName: string;
  description?: string;
  hasUniqueValue?: boolean;
  options?: Array<{ label: string; value: string; displayOrder?: number; hidden?: boolean }>;
  displayOrder?: number;
}): PropDef {
  const now = new Date().toISOString();
  return {
    name: input.name,
    label: input.label,
    type: input.type,
    fieldType: input.fieldType,
    groupName: input.groupName,
    description: input.description ?? '',
    hasUniqueValue: input.hasUniqueValue ?? false,
    readOnlyValue: false,
    hubspotDefined: false,
    calculated: false,
    options: (input.options ?? []).map((o, i) => ({
      label: o.label,
      value: o.value,
      displayOrder: o.displayOrder ?? i,
      hidden: o.hidden ?? false,
    })),
    displayOrder: input.displayOrder ?? -1,
    createdAt: now,
    updatedAt: now,
    archived: false,
  };
}
