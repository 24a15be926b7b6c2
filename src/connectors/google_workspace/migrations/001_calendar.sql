-- Google Calendar events of each synced mailbox, and their attendees linked to Aurora contacts.

CREATE TABLE IF NOT EXISTS calendar_events (
    id TEXT PRIMARY KEY DEFAULT gen_random_uuid()::text,
    -- the connection: the user whose calendars these are
    mailbox TEXT NOT NULL,
    calendar_id TEXT,
    summary TEXT,
    description TEXT,
    location TEXT,
    -- timed events: instants; all-day events: dates (end exclusive, as in Google)
    start_at TIMESTAMPTZ,
    end_at TIMESTAMPTZ,
    start_date DATE,
    end_date DATE,
    start_time_zone TEXT,
    end_time_zone TEXT,
    status TEXT,
    organizer_email TEXT,
    -- [{email, displayName?, responseStatus, optional?, organizer?}] sorted by email
    attendees JSONB,
    -- {useDefault, overrides?: [{method, minutes}]}
    reminders JSONB,
    -- ["RRULE:...", "EXDATE:..."]
    recurrence JSONB,
    conference_link TEXT,
    html_link TEXT,
    ical_uid TEXT,
    recurring_event_id TEXT,
    transparency TEXT,
    visibility TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS calendar_events_mailbox_idx ON calendar_events (mailbox, calendar_id);
CREATE INDEX IF NOT EXISTS calendar_events_start_at_idx ON calendar_events (mailbox, start_at);
CREATE INDEX IF NOT EXISTS calendar_events_start_date_idx ON calendar_events (mailbox, start_date);
CREATE INDEX IF NOT EXISTS calendar_events_ical_uid_idx ON calendar_events (ical_uid);
SELECT aurora_track_table('calendar_events');

-- One row per attendee of a live event, derived from calendar_events.attendees by the trigger
-- below (never written directly, and not a tracked join: it does not bump the event's version).
-- contact_id: the Aurora contact with that email (lower-cased), when there is one.
CREATE TABLE IF NOT EXISTS calendar_event_attendees (
    event_id TEXT NOT NULL REFERENCES calendar_events(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    response_status TEXT,
    display_name TEXT,
    contact_id TEXT REFERENCES contacts(id) ON DELETE SET NULL,
    PRIMARY KEY (event_id, email)
);
-- "every event with this contact"
CREATE INDEX IF NOT EXISTS calendar_event_attendees_contact_idx ON calendar_event_attendees (contact_id, event_id) WHERE contact_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS calendar_event_attendees_email_idx ON calendar_event_attendees (email);

-- The live contact of an email: the oldest non-deleted one when several share it.
CREATE OR REPLACE FUNCTION aurora_contact_of(addr TEXT) RETURNS TEXT AS $$
  SELECT c.id FROM contacts c
   WHERE lower(c.email) = lower(addr) AND c.deleted_at IS NULL
   ORDER BY c.created_at, c.id
   LIMIT 1
$$ LANGUAGE sql STABLE;

CREATE OR REPLACE FUNCTION aurora_calendar_attendees_sync() RETURNS trigger AS $$
BEGIN
  DELETE FROM calendar_event_attendees WHERE event_id = NEW.id;
  IF NEW.deleted_at IS NULL AND jsonb_typeof(NEW.attendees) = 'array' THEN
    INSERT INTO calendar_event_attendees (event_id, email, response_status, display_name, contact_id)
    SELECT DISTINCT ON (lower(a ->> 'email'))
           NEW.id, lower(a ->> 'email'), a ->> 'responseStatus', a ->> 'displayName', aurora_contact_of(a ->> 'email')
      FROM jsonb_array_elements(NEW.attendees) AS a
     WHERE jsonb_typeof(a) = 'object' AND COALESCE(a ->> 'email', '') <> ''
     ORDER BY lower(a ->> 'email');
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS calendar_events_attendees ON calendar_events;
CREATE TRIGGER calendar_events_attendees
    AFTER INSERT OR UPDATE OF attendees, deleted_at ON calendar_events
    FOR EACH ROW EXECUTE FUNCTION aurora_calendar_attendees_sync();

-- A contact created, re-addressed, deleted or restored: relink the attendees with its old and new email.
CREATE OR REPLACE FUNCTION aurora_calendar_attendees_relink() RETURNS trigger AS $$
DECLARE addrs TEXT[] := ARRAY[]::TEXT[];
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.email IS NOT NULL THEN addrs := addrs || lower(NEW.email); END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.email IS NOT NULL THEN addrs := addrs || lower(OLD.email); END IF;
  IF cardinality(addrs) > 0 THEN
    UPDATE calendar_event_attendees a
       SET contact_id = aurora_contact_of(a.email)
     WHERE a.email = ANY (addrs)
       AND a.contact_id IS DISTINCT FROM aurora_contact_of(a.email);
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS contacts_calendar_attendees ON contacts;
CREATE TRIGGER contacts_calendar_attendees
    AFTER INSERT OR UPDATE OF email, deleted_at OR DELETE ON contacts
    FOR EACH ROW EXECUTE FUNCTION aurora_calendar_attendees_relink();
