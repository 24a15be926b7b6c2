-- Google Drive files and folders of each synced user (metadata, not contents), their permissions,
-- and the permissions' grantees linked to Aurora contacts by email.

CREATE TABLE IF NOT EXISTS drive_files (
    id TEXT PRIMARY KEY DEFAULT gen_random_uuid()::text,
    -- the connection: the user whose Drive this is seen from
    mailbox TEXT NOT NULL,
    name TEXT,
    mime_type TEXT,
    -- Aurora ids of the folders it is in (comma-separated; Drive gives an item one parent)
    parents TEXT,
    -- the shared drive it is in (null: My Drive)
    drive_id TEXT,
    -- the owners' emails, sorted (null in shared drives)
    owners JSONB,
    last_modifying_user TEXT,
    created_time TIMESTAMPTZ,
    modified_time TIMESTAMPTZ,
    size NUMERIC,
    web_view_link TEXT,
    starred BOOLEAN,
    trashed BOOLEAN,
    version INTEGER NOT NULL DEFAULT 1,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS drive_files_mailbox_idx ON drive_files (mailbox, name);
CREATE INDEX IF NOT EXISTS drive_files_parents_idx ON drive_files (parents);
CREATE INDEX IF NOT EXISTS drive_files_drive_idx ON drive_files (drive_id) WHERE drive_id IS NOT NULL;
SELECT aurora_track_table('drive_files');

CREATE TABLE IF NOT EXISTS drive_permissions (
    id TEXT PRIMARY KEY DEFAULT gen_random_uuid()::text,
    mailbox TEXT NOT NULL,
    -- the Aurora id of the file or folder
    file_id TEXT REFERENCES drive_files(id) ON DELETE CASCADE,
    -- Drive's id of the grantee (the same on every file)
    permission_id TEXT,
    -- user | group | domain | anyone
    type TEXT,
    -- owner | organizer | fileOrganizer | writer | commenter | reader
    role TEXT,
    email_address TEXT,
    domain TEXT,
    display_name TEXT,
    allow_file_discovery BOOLEAN,
    version INTEGER NOT NULL DEFAULT 1,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS drive_permissions_file_idx ON drive_permissions (file_id);
CREATE INDEX IF NOT EXISTS drive_permissions_email_idx ON drive_permissions (lower(email_address)) WHERE email_address IS NOT NULL;
SELECT aurora_track_table('drive_permissions');

-- The contact of each live user or group permission with an email (aurora_contact_of: 001_calendar.sql),
-- derived by the triggers below (never written directly; not tracked: no version bump).
CREATE TABLE IF NOT EXISTS drive_permission_contacts (
    permission_id TEXT PRIMARY KEY REFERENCES drive_permissions(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    contact_id TEXT REFERENCES contacts(id) ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS drive_permission_contacts_contact_idx ON drive_permission_contacts (contact_id) WHERE contact_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS drive_permission_contacts_email_idx ON drive_permission_contacts (email);

CREATE OR REPLACE FUNCTION aurora_drive_permission_contact_sync() RETURNS trigger AS $$
BEGIN
  DELETE FROM drive_permission_contacts WHERE permission_id = NEW.id;
  IF NEW.deleted_at IS NULL AND COALESCE(NEW.email_address, '') <> '' THEN
    INSERT INTO drive_permission_contacts (permission_id, email, contact_id)
    VALUES (NEW.id, lower(NEW.email_address), aurora_contact_of(NEW.email_address));
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS drive_permissions_contact ON drive_permissions;
CREATE TRIGGER drive_permissions_contact
    AFTER INSERT OR UPDATE OF email_address, deleted_at ON drive_permissions
    FOR EACH ROW EXECUTE FUNCTION aurora_drive_permission_contact_sync();

-- A contact created, re-addressed, deleted or restored: relink the permissions with its old and new
-- email (the generic relink of 002_gmail.sql).
DROP TRIGGER IF EXISTS contacts_drive_permissions ON contacts;
CREATE TRIGGER contacts_drive_permissions
    AFTER INSERT OR UPDATE OF email, deleted_at OR DELETE ON contacts
    FOR EACH ROW EXECUTE FUNCTION aurora_relink_contact_emails('drive_permission_contacts');
