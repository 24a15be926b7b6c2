/** HubSpot's entity types as Aurora stores them (Aurora's CRM tables companies, contacts, deals). */
import type { EntitySpec } from '../../core/model';

/** In dependency order: companies before the contacts and deals that point at them. */
export const HUBSPOT_ENTITIES: readonly EntitySpec[] = [
  {
    type: 'company',
    plural: 'companies',
    table: 'companies',
    fields: { name: 'text', domain: 'text', industry: 'text', total_deal_value: 'numeric' },
    direction: 'two-way',
  },
  {
    type: 'contact',
    plural: 'contacts',
    table: 'contacts',
    fields: { first_name: 'text', last_name: 'text', email: 'email', phone: 'text', linkedin_url: 'text', company_id: 'ref' },
    refs: { company_id: 'company' },
    matchBy: 'email',
    direction: 'two-way',
  },
  {
    type: 'deal',
    plural: 'deals',
    table: 'deals',
    fields: { name: 'text', amount: 'numeric', stage: 'text', probability: 'numeric', close_date: 'date', company_id: 'ref', contact_ids: 'refs' },
    refs: { company_id: 'company', contact_ids: 'contact' },
    joins: { contact_ids: { table: 'deal_contacts', own: 'deal_id', target: 'contact_id' } },
    direction: 'two-way',
  },
];

export type HubSpotEntityType = 'company' | 'contact' | 'deal';

export function hubspotSpec(type: string): EntitySpec {
  const spec = HUBSPOT_ENTITIES.find((e) => e.type === type);
  if (!spec) throw new Error(`hubspot has no entity type "${type}"`);
  return spec;
}
