-- The derived tables of 001-003 maintained once per statement instead of once per row, so a
-- page of 200 contacts or events written in one statement costs one UPDATE (or one DELETE and
-- one INSERT) of the derived rows instead of 200 of each (issue 12: 62 µs of the 67 µs a pulled
-- contact cost in Postgres were these triggers). The derived rows are exactly those the row
-- triggers made. Postgres allows transition tables only on single-event triggers without column
-- lists, so each event has its own trigger and the function picks the rows whose columns changed.

-- Contacts created, re-addressed, deleted or restored: relink every email-keyed table named in
-- the trigger's arguments with the old and new addresses (was: one row trigger per table).
CREATE OR REPLACE FUNCTION aurora_relink_contacts_stmt() RETURNS trigger AS $$
DECLARE
  addrs TEXT[];
  tbl TEXT;
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT array_agg(DISTINCT lower(n.email)) INTO addrs FROM aurora_new n WHERE n.email IS NOT NULL;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT array_agg(DISTINCT lower(o.email)) INTO addrs FROM aurora_old o WHERE o.email IS NOT NULL;
  ELSE
    SELECT array_agg(DISTINCT lower(v.email)) INTO addrs
      FROM aurora_new n FULL JOIN aurora_old o ON o.id = n.id
     CROSS JOIN LATERAL (VALUES (n.email), (o.email)) AS v(email)
     WHERE v.email IS NOT NULL
       AND (n.id IS NULL OR o.id IS NULL OR n.email IS DISTINCT FROM o.email OR n.deleted_at IS DISTINCT FROM o.deleted_at);
  END IF;
  IF addrs IS NOT NULL THEN
    FOREACH tbl IN ARRAY TG_ARGV LOOP
      EXECUTE format('UPDATE %I p SET contact_id = aurora_contact_of(p.email)
                       WHERE p.email = ANY ($1) AND p.contact_id IS DISTINCT FROM aurora_contact_of(p.email)', tbl)
        USING addrs;
    END LOOP;
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS contacts_calendar_attendees ON contacts;
DROP TRIGGER IF EXISTS contacts_email_participants ON contacts;
DROP TRIGGER IF EXISTS contacts_drive_permissions ON contacts;
DROP TRIGGER IF EXISTS contacts_email_links_insert ON contacts;
DROP TRIGGER IF EXISTS contacts_email_links_update ON contacts;
DROP TRIGGER IF EXISTS contacts_email_links_delete ON contacts;
CREATE TRIGGER contacts_email_links_insert AFTER INSERT ON contacts REFERENCING NEW TABLE AS aurora_new
    FOR EACH STATEMENT EXECUTE FUNCTION aurora_relink_contacts_stmt('calendar_event_attendees', 'email_thread_participants', 'drive_permission_contacts');
CREATE TRIGGER contacts_email_links_update AFTER UPDATE ON contacts REFERENCING OLD TABLE AS aurora_old NEW TABLE AS aurora_new
    FOR EACH STATEMENT EXECUTE FUNCTION aurora_relink_contacts_stmt('calendar_event_attendees', 'email_thread_participants', 'drive_permission_contacts');
CREATE TRIGGER contacts_email_links_delete AFTER DELETE ON contacts REFERENCING OLD TABLE AS aurora_old
    FOR EACH STATEMENT EXECUTE FUNCTION aurora_relink_contacts_stmt('calendar_event_attendees', 'email_thread_participants', 'drive_permission_contacts');

-- An event's attendee rows, from calendar_events.attendees, for every event of the statement
-- that was inserted or whose attendees or deletion changed.
CREATE OR REPLACE FUNCTION aurora_calendar_attendees_stmt() RETURNS trigger AS $$
DECLARE
  ids TEXT[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT array_agg(n.id) INTO ids FROM aurora_new n;
  ELSE
    SELECT array_agg(n.id) INTO ids
      FROM aurora_new n LEFT JOIN aurora_old o ON o.id = n.id
     WHERE o.id IS NULL OR n.attendees IS DISTINCT FROM o.attendees OR n.deleted_at IS DISTINCT FROM o.deleted_at;
    IF ids IS NULL THEN RETURN NULL; END IF;
    DELETE FROM calendar_event_attendees WHERE event_id = ANY (ids);
  END IF;
  INSERT INTO calendar_event_attendees (event_id, email, response_status, display_name, contact_id)
  SELECT DISTINCT ON (n.id, lower(a ->> 'email'))
         n.id, lower(a ->> 'email'), a ->> 'responseStatus', a ->> 'displayName', aurora_contact_of(a ->> 'email')
    FROM aurora_new n
   CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(n.attendees) = 'array' THEN n.attendees ELSE '[]'::jsonb END) AS a
   WHERE n.id = ANY (ids) AND n.deleted_at IS NULL
     AND jsonb_typeof(a) = 'object' AND COALESCE(a ->> 'email', '') <> ''
   ORDER BY n.id, lower(a ->> 'email');
  RETURN NULL;
END $$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS calendar_events_attendees ON calendar_events;
DROP TRIGGER IF EXISTS calendar_events_attendees_insert ON calendar_events;
DROP TRIGGER IF EXISTS calendar_events_attendees_update ON calendar_events;
CREATE TRIGGER calendar_events_attendees_insert AFTER INSERT ON calendar_events REFERENCING NEW TABLE AS aurora_new
    FOR EACH STATEMENT EXECUTE FUNCTION aurora_calendar_attendees_stmt();
CREATE TRIGGER calendar_events_attendees_update AFTER UPDATE ON calendar_events REFERENCING OLD TABLE AS aurora_old NEW TABLE AS aurora_new
    FOR EACH STATEMENT EXECUTE FUNCTION aurora_calendar_attendees_stmt();
