-- Gmail: each synced mailbox's labels and threads; a thread's labels (tracked join), its messages
-- and its participants (derived from the thread's JSON by triggers, participants linked to contacts).

CREATE TABLE IF NOT EXISTS email_labels (
    id TEXT PRIMARY KEY DEFAULT gen_random_uuid()::text,
    -- the connection: the mailbox
    mailbox TEXT NOT NULL,
    name TEXT,
    -- system (INBOX, SENT, CATEGORY_*, ...: read-only) | user
    label_type TEXT NOT NULL DEFAULT 'user',
    label_list_visibility TEXT,
    message_list_visibility TEXT,
    text_color TEXT,
    background_color TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS email_labels_mailbox_idx ON email_labels (mailbox, name);
SELECT aurora_track_table('email_labels');

CREATE TABLE IF NOT EXISTS email_threads (
    id TEXT PRIMARY KEY DEFAULT gen_random_uuid()::text,
    mailbox TEXT NOT NULL,
    subject TEXT,
    snippet TEXT,
    -- [{email, name?, roles: ["cc","from","to"]}] sorted by email
    participants JSONB,
    message_count NUMERIC,
    first_message_at TIMESTAMPTZ,
    last_message_at TIMESTAMPTZ,
    unread BOOLEAN,
    -- normal | important (IMPORTANT) | starred (STARRED) | urgent (both)
    priority TEXT,
    -- not in INBOX
    archived BOOLEAN,
    -- every message in TRASH
    trashed BOOLEAN,
    -- [{id, from, to, cc, date, subject, snippet, labels, body?}] oldest first
    messages JSONB,
    version INTEGER NOT NULL DEFAULT 1,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS email_threads_mailbox_idx ON email_threads (mailbox, last_message_at DESC);
SELECT aurora_track_table('email_threads');

-- A thread's labels other than the state ones (UNREAD, INBOX, TRASH, IMPORTANT, STARRED have
-- columns). Adding or removing a row is a change of the thread (pushed as threads.modify).
CREATE TABLE IF NOT EXISTS email_thread_labels (
    thread_id TEXT NOT NULL REFERENCES email_threads(id) ON DELETE CASCADE,
    label_id TEXT NOT NULL REFERENCES email_labels(id) ON DELETE CASCADE,
    PRIMARY KEY (thread_id, label_id)
);
CREATE INDEX IF NOT EXISTS email_thread_labels_label_idx ON email_thread_labels (label_id);
SELECT aurora_track_join('email_thread_labels', 'email_threads', 'thread_id');

-- One row per message of a live thread, from email_threads.messages (never written directly).
CREATE TABLE IF NOT EXISTS email_messages (
    thread_id TEXT NOT NULL REFERENCES email_threads(id) ON DELETE CASCADE,
    -- Gmail's message id (unique within the mailbox)
    message_id TEXT NOT NULL,
    mailbox TEXT NOT NULL,
    from_email TEXT,
    from_name TEXT,
    -- [{email, name?}]
    to_addresses JSONB,
    cc_addresses JSONB,
    sent_at TIMESTAMPTZ,
    subject TEXT,
    snippet TEXT,
    labels TEXT[],
    -- plain text, only with GMAIL_SYNC_BODIES=true
    body_text TEXT,
    PRIMARY KEY (thread_id, message_id)
);
CREATE INDEX IF NOT EXISTS email_messages_mailbox_idx ON email_messages (mailbox, message_id);
CREATE INDEX IF NOT EXISTS email_messages_from_idx ON email_messages (lower(from_email));

-- Everyone on From/To/Cc of a live thread; contact_id: the Aurora contact with that email.
CREATE TABLE IF NOT EXISTS email_thread_participants (
    thread_id TEXT NOT NULL REFERENCES email_threads(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    name TEXT,
    roles TEXT[],
    contact_id TEXT REFERENCES contacts(id) ON DELETE SET NULL,
    PRIMARY KEY (thread_id, email)
);
-- "every thread with this contact"
CREATE INDEX IF NOT EXISTS email_thread_participants_contact_idx ON email_thread_participants (contact_id, thread_id) WHERE contact_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS email_thread_participants_email_idx ON email_thread_participants (email);

CREATE OR REPLACE FUNCTION aurora_email_thread_derive() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.messages IS NOT DISTINCT FROM OLD.messages AND NEW.participants IS NOT DISTINCT FROM OLD.participants
     AND NEW.deleted_at IS NOT DISTINCT FROM OLD.deleted_at THEN
    RETURN NULL;
  END IF;
  DELETE FROM email_messages WHERE thread_id = NEW.id;
  DELETE FROM email_thread_participants WHERE thread_id = NEW.id;
  IF NEW.deleted_at IS NULL THEN
    IF jsonb_typeof(NEW.messages) = 'array' THEN
      INSERT INTO email_messages (thread_id, message_id, mailbox, from_email, from_name, to_addresses, cc_addresses, sent_at, subject, snippet, labels, body_text)
      SELECT DISTINCT ON (m ->> 'id')
             NEW.id, m ->> 'id', NEW.mailbox, m -> 'from' ->> 'email', m -> 'from' ->> 'name', m -> 'to', m -> 'cc',
             (m ->> 'date')::timestamptz, m ->> 'subject', m ->> 'snippet',
             ARRAY(SELECT jsonb_array_elements_text(CASE WHEN jsonb_typeof(m -> 'labels') = 'array' THEN m -> 'labels' ELSE '[]'::jsonb END)),
             m ->> 'body'
        FROM jsonb_array_elements(NEW.messages) AS m
       WHERE jsonb_typeof(m) = 'object' AND COALESCE(m ->> 'id', '') <> '';
    END IF;
    IF jsonb_typeof(NEW.participants) = 'array' THEN
      INSERT INTO email_thread_participants (thread_id, email, name, roles, contact_id)
      SELECT DISTINCT ON (lower(p ->> 'email'))
             NEW.id, lower(p ->> 'email'), p ->> 'name',
             ARRAY(SELECT jsonb_array_elements_text(CASE WHEN jsonb_typeof(p -> 'roles') = 'array' THEN p -> 'roles' ELSE '[]'::jsonb END)),
             aurora_contact_of(p ->> 'email')
        FROM jsonb_array_elements(NEW.participants) AS p
       WHERE jsonb_typeof(p) = 'object' AND COALESCE(p ->> 'email', '') <> ''
       ORDER BY lower(p ->> 'email');
    END IF;
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS email_threads_derive ON email_threads;
CREATE TRIGGER email_threads_derive
    AFTER INSERT OR UPDATE OF messages, participants, deleted_at ON email_threads
    FOR EACH ROW EXECUTE FUNCTION aurora_email_thread_derive();

-- A contact created, re-addressed, deleted or restored: relink the rows of the table named by the
-- trigger's argument (columns email, contact_id) that have its old or new email. Any table that
-- links people to contacts by email can use it.
CREATE OR REPLACE FUNCTION aurora_relink_contact_emails() RETURNS trigger AS $$
DECLARE addrs TEXT[] := ARRAY[]::TEXT[];
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.email IS NOT NULL THEN addrs := addrs || lower(NEW.email); END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.email IS NOT NULL THEN addrs := addrs || lower(OLD.email); END IF;
  IF cardinality(addrs) > 0 THEN
    EXECUTE format('UPDATE %I p SET contact_id = aurora_contact_of(p.email)
                     WHERE p.email = ANY ($1) AND p.contact_id IS DISTINCT FROM aurora_contact_of(p.email)', TG_ARGV[0])
      USING addrs;
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS contacts_email_participants ON contacts;
CREATE TRIGGER contacts_email_participants
    AFTER INSERT OR UPDATE OF email, deleted_at OR DELETE ON contacts
    FOR EACH ROW EXECUTE FUNCTION aurora_relink_contact_emails('email_thread_participants');
