/** HUBSPOT_DEFINED association types between contacts, companies and deals (v4 type ids). */
import type { ObjectType } from './types';

export interface AssocTypeDef {
  typeId: number;
  from: ObjectType;
  to: ObjectType;
  /** v4 label (null for the unlabeled default type) */
  label: string | null;
  primary: boolean;
  inverse: number;
  /** the `type` a v3 read reports in `associations.{to}.results[]` */
  v3Name: string;
}

export const ASSOCIATION_TYPES: readonly AssocTypeDef[] = [
  { typeId: 279, from: 'contacts', to: 'companies', label: null, primary: false, inverse: 280, v3Name: 'contact_to_company_unlabeled' },
  { typeId: 1, from: 'contacts', to: 'companies', label: 'Primary', primary: true, inverse: 2, v3Name: 'contact_to_company' },
  { typeId: 280, from: 'companies', to: 'contacts', label: null, primary: false, inverse: 279, v3Name: 'company_to_contact_unlabeled' },
  { typeId: 2, from: 'companies', to: 'contacts', label: 'Primary', primary: true, inverse: 1, v3Name: 'company_to_contact' },
  { typeId: 3, from: 'deals', to: 'contacts', label: null, primary: false, inverse: 4, v3Name: 'deal_to_contact' },
  { typeId: 4, from: 'contacts', to: 'deals', label: null, primary: false, inverse: 3, v3Name: 'contact_to_deal' },
  { typeId: 341, from: 'deals', to: 'companies', label: null, primary: false, inverse: 342, v3Name: 'deal_to_company_unlabeled' },
  { typeId: 5, from: 'deals', to: 'companies', label: 'Primary', primary: true, inverse: 6, v3Name: 'deal_to_company' },
  { typeId: 342, from: 'companies', to: 'deals', label: null, primary: false, inverse: 341, v3Name: 'company_to_deal_unlabeled' },
  { typeId: 6, from: 'companies', to: 'deals', label: 'Primary', primary: true, inverse: 5, v3Name: 'company_to_deal' },
];

const BY_ID = new Map(ASSOCIATION_TYPES.map((t) => [t.typeId, t]));

export function assocType(typeId: number): AssocTypeDef | undefined {
  return BY_ID.get(typeId);
}

export function typesBetween(from: ObjectType, to: ObjectType): AssocTypeDef[] {
  return ASSOCIATION_TYPES.filter((t) => t.from === from && t.to === to);
}

/** The unlabeled default type for a pair, if the pair can be associated. */
export function defaultType(from: ObjectType, to: ObjectType): AssocTypeDef | undefined {
  return ASSOCIATION_TYPES.find((t) => t.from === from && t.to === to && !t.primary);
}

export function primaryType(from: ObjectType, to: ObjectType): AssocTypeDef | undefined {
  return ASSOCIATION_TYPES.find((t) => t.from === from && t.to === to && t.primary);
}
