/**
 * Google Drive's entity types as Aurora stores them: files and folders (table drive_files) and
 * their permissions (table drive_permissions), one row per item and user (the connection).
 */
import type { EntitySpec } from '../../../core/model';

export const DRIVE_FILE_TYPE = 'drive_file';
export const DRIVE_PERMISSION_TYPE = 'drive_permission';
export const FOLDER_MIME = 'application/vnd.google-apps.folder';

export const DRIVE_FILE: EntitySpec = {
  type: DRIVE_FILE_TYPE,
  plural: 'drive_files',
  table: 'drive_files',
  fields: {
    name: 'text',
    mime_type: 'text',
    /** the folder(s) it is in: the folder tree (a My Drive root or a shared drive's root is a record too) */
    parents: 'refs',
    /** the shared drive it is in (null: My Drive) */
    drive_id: 'text',
    /** the owners' emails, sorted (null in shared drives, which have no owners) */
    owners: 'json',
    last_modifying_user: 'email',
    created_time: 'timestamp',
    modified_time: 'timestamp',
    /** bytes, uploaded files only */
    size: 'numeric',
    web_view_link: 'text',
    /** the user's own star */
    starred: 'boolean',
    trashed: 'boolean',
  },
  refs: { parents: DRIVE_FILE_TYPE },
  direction: 'two-way',
  connectionColumn: 'mailbox',
  description: "Google Drive files and folders of each user's My Drive and the shared drives they can see (metadata, not contents)",
};

export const DRIVE_PERMISSION: EntitySpec = {
  type: DRIVE_PERMISSION_TYPE,
  plural: 'drive_permissions',
  table: 'drive_permissions',
  fields: {
    file_id: 'ref',
    /** Drive's id of the grantee (the same on every file); read-only */
    permission_id: 'text',
    /** user | group | domain | anyone */
    type: 'text',
    /** owner | organizer | fileOrganizer | writer | commenter | reader */
    role: 'text',
    email_address: 'email',
    domain: 'text',
    display_name: 'text',
    allow_file_discovery: 'boolean',
  },
  refs: { file_id: DRIVE_FILE_TYPE },
  direction: 'two-way',
  connectionColumn: 'mailbox',
  description: 'Who can see or edit each Drive file the user can share (linked to contacts by email)',
};

/** Fields Drive computes: read from Drive, never sent. */
export const FILE_READ_ONLY_FIELDS: readonly string[] = ['mime_type', 'drive_id', 'owners', 'last_modifying_user', 'created_time', 'modified_time', 'size', 'web_view_link'];
/** The fields a write changes: files.update's body and its addParents/removeParents. */
export const FILE_WRITABLE_FIELDS: readonly string[] = ['name', 'parents', 'starred', 'trashed'];
export const PERMISSION_READ_ONLY_FIELDS: readonly string[] = ['permission_id', 'display_name'];
