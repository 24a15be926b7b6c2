-- Fireflies.ai (pull-only): transcripts, their sentences, their action items; links to Aurora
-- contacts by email and to synced Google Calendar events by the event id Fireflies recorded.

CREATE TABLE IF NOT EXISTS transcripts (
    id TEXT PRIMARY KEY DEFAULT gen_random_uuid()::text,
    title TEXT,
    -- the meeting's start
    meeting_date TIMESTAMPTZ,
    duration_minutes NUMERIC(10,2),
    host_email TEXT,
    organizer_email TEXT,
    -- ["email", ...] sorted
    participants JSONB,
    -- [{email, name, displayName}] sorted by email
    attendees JSONB,
    -- [{id, name}]
    speakers JSONB,
    -- [{index, speaker_name, speaker_id, text, start_time, end_time}]: what the engine compares;
    -- one row each in transcript_sentences (derived by the trigger below)
    sentences JSONB,
    -- processing | processed
    summary_status TEXT,
    overview TEXT,
    short_summary TEXT,
    keywords JSONB,
    outline TEXT,
    topics JSONB,
    -- Fireflies' action items as returned (the parsed ones are in action_items)
    action_items_raw TEXT,
    transcript_url TEXT,
    meeting_link TEXT,
    -- the Google Calendar event id (see transcript_calendar_events)
    calendar_id TEXT,
    privacy TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS transcripts_meeting_date_idx ON transcripts (meeting_date);
CREATE INDEX IF NOT EXISTS transcripts_calendar_id_idx ON transcripts (calendar_id) WHERE calendar_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS transcripts_participants_idx ON transcripts USING gin (participants jsonb_path_ops);
SELECT aurora_track_table('transcripts');

-- One row per sentence, derived from transcripts.sentences (never written directly; not tracked).
CREATE TABLE IF NOT EXISTS transcript_sentences (
    transcript_id TEXT NOT NULL REFERENCES transcripts(id) ON DELETE CASCADE,
    index INTEGER NOT NULL,
    speaker_name TEXT,
    speaker_id TEXT,
    text TEXT,
    -- seconds from the start of the meeting
    start_time NUMERIC(10,3),
    end_time NUMERIC(10,3),
    PRIMARY KEY (transcript_id, index)
);

CREATE OR REPLACE FUNCTION aurora_transcript_sentences_sync() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.sentences IS NOT DISTINCT FROM OLD.sentences AND (NEW.deleted_at IS NULL) = (OLD.deleted_at IS NULL) THEN
    RETURN NULL;
  END IF;
  DELETE FROM transcript_sentences WHERE transcript_id = NEW.id;
  IF NEW.deleted_at IS NULL AND jsonb_typeof(NEW.sentences) = 'array' THEN
    INSERT INTO transcript_sentences (transcript_id, index, speaker_name, speaker_id, text, start_time, end_time)
    SELECT DISTINCT ON (COALESCE((s ->> 'index')::int, (o - 1)::int))
           NEW.id, COALESCE((s ->> 'index')::int, (o - 1)::int), s ->> 'speaker_name', s ->> 'speaker_id', s ->> 'text',
           (s ->> 'start_time')::numeric, (s ->> 'end_time')::numeric
      FROM jsonb_array_elements(NEW.sentences) WITH ORDINALITY AS x(s, o)
     WHERE jsonb_typeof(s) = 'object'
     ORDER BY COALESCE((s ->> 'index')::int, (o - 1)::int);
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS transcripts_sentences ON transcripts;
CREATE TRIGGER transcripts_sentences
    AFTER INSERT OR UPDATE OF sentences, deleted_at ON transcripts
    FOR EACH ROW EXECUTE FUNCTION aurora_transcript_sentences_sync();

CREATE TABLE IF NOT EXISTS action_items (
    id TEXT PRIMARY KEY DEFAULT gen_random_uuid()::text,
    -- the transcript (Aurora id) it was extracted from
    transcript_id TEXT REFERENCES transcripts(id) ON DELETE SET NULL,
    text TEXT,
    raw_text TEXT,
    -- the name Fireflies grouped it under, and that attendee's email when one matches
    assignee TEXT,
    assignee_email TEXT,
    -- seconds into the meeting
    meeting_offset_seconds NUMERIC(10,1),
    position INTEGER,
    version INTEGER NOT NULL DEFAULT 1,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS action_items_transcript_idx ON action_items (transcript_id, position);
CREATE INDEX IF NOT EXISTS action_items_assignee_email_idx ON action_items (lower(assignee_email)) WHERE assignee_email IS NOT NULL;
SELECT aurora_track_table('action_items');

-- aurora_contact_of(email): the live contact of an email, from google_workspace/001_calendar.sql
-- (applied before this one: connectors' migrations run in registry order).

-- Links are views, so they follow contacts and calendar events as those change (no copies to keep
-- in step, nothing that would count as a local edit of a pull-only row).

-- Every attendee of a live transcript, with the Aurora contact of that email when there is one.
CREATE OR REPLACE VIEW transcript_attendees AS
SELECT t.id AS transcript_id, lower(a ->> 'email') AS email, a ->> 'name' AS name, a ->> 'displayName' AS display_name,
       aurora_contact_of(a ->> 'email') AS contact_id
  FROM transcripts t, jsonb_array_elements(CASE WHEN jsonb_typeof(t.attendees) = 'array' THEN t.attendees ELSE '[]'::jsonb END) AS a
 WHERE t.deleted_at IS NULL AND COALESCE(a ->> 'email', '') <> '';

-- The contact a live action item concerns: its assignee's (an attendee matched by name).
CREATE OR REPLACE VIEW action_item_contacts AS
SELECT i.id AS action_item_id, i.transcript_id, i.assignee_email AS email, aurora_contact_of(i.assignee_email) AS contact_id
  FROM action_items i
 WHERE i.deleted_at IS NULL AND i.assignee_email IS NOT NULL;

-- The synced Google Calendar events (one per mailbox that has it) of a transcript's meeting.
CREATE OR REPLACE VIEW transcript_calendar_events AS
SELECT t.id AS transcript_id, r.local_id AS calendar_event_id, r.connection AS mailbox
  FROM transcripts t
  JOIN sync_registry r ON r.external_system = 'google_workspace' AND r.entity_type = 'calendar_event'
                      AND r.external_id = t.calendar_id AND NOT r.deleted
 WHERE t.deleted_at IS NULL AND t.calendar_id IS NOT NULL;
