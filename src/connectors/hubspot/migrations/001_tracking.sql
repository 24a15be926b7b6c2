-- HubSpot's tables (Aurora's CRM tables, created by the core migrations) tracked with the generic
-- helpers: a row version bumped on every real change; a deal's version also bumps when its
-- contacts change. Replaces the hand-written deal_contacts trigger of core migration 003.
SELECT aurora_track_table('companies');
SELECT aurora_track_table('contacts');
SELECT aurora_track_table('deals');
DROP TRIGGER IF EXISTS deal_contacts_version ON deal_contacts;
DROP FUNCTION IF EXISTS aurora_deal_contacts_changed();
SELECT aurora_track_join('deal_contacts', 'deals', 'deal_id');
